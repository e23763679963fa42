/**
 * Pillow's bicubic resize of 8-bit images (`Image.resize(size, Image.BICUBIC)`), reproduced step for step:
 * a separable convolution with the cubic kernel (a = −0.5) whose support widens to 2·scale when shrinking,
 * coefficients normalised per output pixel then turned into 22-bit fixed point, the horizontal pass first
 * with its result rounded and clipped to uint8, then the vertical pass over that. Written from Pillow's
 * documented algorithm (Resample.c) so that the processor's pixel values match the reference's.
 */

/** Fixed-point precision of Pillow's 8-bit resampling (32 − 8 − 2 bits). */
const PRECISION_BITS = 22;
const ONE = 1 << PRECISION_BITS;
const HALF = 1 << (PRECISION_BITS - 1);

function cubic(x: number): number {
  const a = -0.5;
  const t = Math.abs(x);
  if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
  return 0;
}

interface Coefficients {
  /** taps per output pixel */
  ksize: number;
  /** first input index of each output pixel */
  start: Int32Array;
  /** tap count of each output pixel */
  count: Int32Array;
  /** fixed-point weights [out × ksize] */
  weights: Int32Array;
}

/** Pillow's precompute_coeffs + normalize_coeffs_8bpc for an axis of `inSize` → `outSize`. */
function coefficients(inSize: number, outSize: number): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 2 * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterScale;
    // C's (int) cast truncates toward zero
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = cubic((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (let x = 0; x < ksize; x++) {
      const v = x < xmax ? (ww !== 0 ? k[x]! / ww : k[x]!) : 0;
      weights[xx * ksize + x] = v < 0 ? Math.trunc(-0.5 + v * ONE) : Math.trunc(0.5 + v * ONE);
    }
    start[xx] = xmin;
    count[xx] = xmax;
  }
  return { ksize, start, count, weights };
}

const clip8 = (acc: number): number => {
  const v = Math.floor(acc / ONE);
  return v < 0 ? 0 : v > 255 ? 255 : v;
};

/**
 * Resizes interleaved 8-bit samples (`channels` per pixel) from width × height to outWidth × outHeight as
 * Pillow's BICUBIC does. Passes that do not change an axis are skipped, as in Pillow.
 */
export function resizeBicubicPil(data: Uint8Array, width: number, height: number, channels: number, outWidth: number, outHeight: number): Uint8Array {
  let src = data;
  let w = width;
  if (outWidth !== width) {
    const c = coefficients(width, outWidth);
    const out = new Uint8Array(outWidth * height * channels);
    for (let y = 0; y < height; y++) {
      const row = y * width * channels;
      for (let xx = 0; xx < outWidth; xx++) {
        const s0 = c.start[xx]!;
        const n = c.count[xx]!;
        const kb = xx * c.ksize;
        for (let ch = 0; ch < channels; ch++) {
          let acc = HALF;
          for (let x = 0; x < n; x++) acc += src[row + (s0 + x) * channels + ch]! * c.weights[kb + x]!;
          out[(y * outWidth + xx) * channels + ch] = clip8(acc);
        }
      }
    }
    src = out;
    w = outWidth;
  }
  if (outHeight !== height) {
    const c = coefficients(height, outHeight);
    const out = new Uint8Array(w * outHeight * channels);
    const stride = w * channels;
    for (let yy = 0; yy < outHeight; yy++) {
      const s0 = c.start[yy]!;
      const n = c.count[yy]!;
      const kb = yy * c.ksize;
      for (let i = 0; i < stride; i++) {
        let acc = HALF;
        for (let y = 0; y < n; y++) acc += src[(s0 + y) * stride + i]! * c.weights[kb + y]!;
        out[yy * stride + i] = clip8(acc);
      }
    }
    src = out;
  }
  return src === data ? data.slice() : src;
}
