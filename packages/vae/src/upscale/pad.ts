/** Reflection padding and cropping of planar images on the host. */

/** Index into [0, n) reflecting at the edges without repeating the edge sample (numpy/torch 'reflect'); folds repeatedly, so any padding works. */
export function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let k = ((i % period) + period) % period;
  if (k >= n) k = period - k;
  return k;
}

/** Pads [planes, H, W] to [planes, H2, W2] (bottom and right) by reflection. */
export function padReflect(src: Float32Array, planes: number, h: number, w: number, h2: number, w2: number): Float32Array {
  if (h2 === h && w2 === w) return src;
  const out = new Float32Array(planes * h2 * w2);
  const cols = Int32Array.from({ length: w2 }, (_, x) => reflectIndex(x, w));
  for (let p = 0; p < planes; p++) {
    for (let y = 0; y < h2; y++) {
      const sRow = p * h * w + reflectIndex(y, h) * w;
      const dRow = p * h2 * w2 + y * w2;
      for (let x = 0; x < w2; x++) out[dRow + x] = src[sRow + cols[x]!]!;
    }
  }
  return out;
}

/** The top-left [planes, h, w] window of [planes, H, W]. */
export function cropTopLeft(src: Float32Array, planes: number, H: number, W: number, h: number, w: number): Float32Array {
  if (h === H && w === W) return src;
  const out = new Float32Array(planes * h * w);
  for (let p = 0; p < planes; p++) for (let y = 0; y < h; y++) out.set(src.subarray(p * H * W + y * W, p * H * W + y * W + w), p * h * w + y * w);
  return out;
}

/** Smallest multiple of m that is ≥ n. */
export const roundUp = (n: number, m: number): number => Math.ceil(n / m) * m;
