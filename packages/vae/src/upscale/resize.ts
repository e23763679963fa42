/** Bilinear resize of one plane with half-pixel centres (PyTorch align_corners=False, no antialias). */
export function resizeBilinear(src: Float32Array, h: number, w: number, h2: number, w2: number): Float32Array {
  const out = new Float32Array(h2 * w2);
  const axis = (n: number, n2: number): { i0: Int32Array; i1: Int32Array; f: Float32Array } => {
    const i0 = new Int32Array(n2);
    const i1 = new Int32Array(n2);
    const f = new Float32Array(n2);
    for (let d = 0; d < n2; d++) {
      const s = Math.max(0, ((d + 0.5) * n) / n2 - 0.5);
      const a = Math.min(Math.floor(s), n - 1);
      i0[d] = a;
      i1[d] = Math.min(a + 1, n - 1);
      f[d] = s - a;
    }
    return { i0, i1, f };
  };
  const ys = axis(h, h2);
  const xs = axis(w, w2);
  for (let y = 0; y < h2; y++) {
    const r0 = ys.i0[y]! * w;
    const r1 = ys.i1[y]! * w;
    const fy = ys.f[y]!;
    for (let x = 0; x < w2; x++) {
      const a = xs.i0[x]!;
      const b = xs.i1[x]!;
      const fx = xs.f[x]!;
      const top = src[r0 + a]! * (1 - fx) + src[r0 + b]! * fx;
      const bot = src[r1 + a]! * (1 - fx) + src[r1 + b]! * fx;
      out[y * w2 + x] = top * (1 - fy) + bot * fy;
    }
  }
  return out;
}
