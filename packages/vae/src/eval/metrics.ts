/**
 * Image-quality metrics of the VAE report, on planar float images `[C, H, W]` with values in [0, 1].
 * - MSE: mean of squared differences over every channel and pixel.
 * - PSNR: 10 · log10(1 / MSE) in dB (peak 1).
 * - Edge error: per channel, the Sobel gradient magnitude sqrt(gx² + gy²) of each image at every interior
 *   pixel (the one-pixel border has no full 3x3 neighbourhood and is left out), then the mean absolute
 *   difference between the two magnitude maps. 0 means identical edges; blur and ringing raise it.
 * - KL: KL(N(μ, σ²) ‖ N(0, 1)) of the encoder's posterior, 0.5 · (μ² + σ² − 1 − log σ²), averaged over
 *   latent elements (diffusers' `kl()` sums it per image instead).
 */

export function mse(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new RangeError(`mse: lengths differ (${a.length} vs ${b.length})`);
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    s += d * d;
  }
  return s / a.length;
}

/** PSNR in dB for values with peak 1 (Infinity for identical images). */
export function psnr(meanSquaredError: number): number {
  return meanSquaredError === 0 ? Infinity : 10 * Math.log10(1 / meanSquaredError);
}

/** Sobel gradient magnitude of one plane `[H, W]` at interior pixels: `[(H-2), (W-2)]`. */
export function sobelMagnitude(plane: Float32Array, h: number, w: number): Float32Array {
  if (h < 3 || w < 3) return new Float32Array(0);
  const out = new Float32Array((h - 2) * (w - 2));
  for (let y = 1; y < h - 1; y++) {
    const up = (y - 1) * w;
    const mid = y * w;
    const dn = (y + 1) * w;
    for (let x = 1; x < w - 1; x++) {
      const gx = plane[up + x + 1]! + 2 * plane[mid + x + 1]! + plane[dn + x + 1]! - plane[up + x - 1]! - 2 * plane[mid + x - 1]! - plane[dn + x - 1]!;
      const gy = plane[dn + x - 1]! + 2 * plane[dn + x]! + plane[dn + x + 1]! - plane[up + x - 1]! - 2 * plane[up + x]! - plane[up + x + 1]!;
      out[(y - 1) * (w - 2) + x - 1] = Math.sqrt(gx * gx + gy * gy);
    }
  }
  return out;
}

/** Mean |Sobel magnitude(a) − Sobel magnitude(b)| over channels and interior pixels of `[C, H, W]` images. */
export function edgeError(a: Float32Array, b: Float32Array, channels: number, h: number, w: number): number {
  const n = h * w;
  let s = 0;
  let count = 0;
  for (let c = 0; c < channels; c++) {
    const ma = sobelMagnitude(a.subarray(c * n, (c + 1) * n), h, w);
    const mb = sobelMagnitude(b.subarray(c * n, (c + 1) * n), h, w);
    for (let i = 0; i < ma.length; i++) s += Math.abs(ma[i]! - mb[i]!);
    count += ma.length;
  }
  return count ? s / count : 0;
}

/** Mean over elements of KL(N(mean, exp(logvar)) ‖ N(0, 1)). */
export function gaussianKl(mean: Float32Array, logvar: Float32Array): number {
  let s = 0;
  for (let i = 0; i < mean.length; i++) s += 0.5 * (mean[i]! * mean[i]! + Math.exp(logvar[i]!) - 1 - logvar[i]!);
  return s / mean.length;
}

/** Average of non-overlapping f x f blocks (area downsampling by an integer factor) of a `[C, H, W]` image. */
export function areaDownsample(src: Float32Array, channels: number, h: number, w: number, f: number): Float32Array {
  if (f === 1) return src.slice();
  const [h2, w2] = [Math.floor(h / f), Math.floor(w / f)];
  const out = new Float32Array(channels * h2 * w2);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < h2; y++) {
      for (let x = 0; x < w2; x++) {
        let s = 0;
        for (let dy = 0; dy < f; dy++) for (let dx = 0; dx < f; dx++) s += src[c * h * w + (y * f + dy) * w + x * f + dx]!;
        out[c * h2 * w2 + y * w2 + x] = s / (f * f);
      }
    }
  }
  return out;
}
