import type { KernelInput } from '../../backend.js';

type F = KernelInput<Float32Array>;

export function groupNormKernel(x: F, w: F | null, b: F | null, groups: number, eps: number): Float32Array {
  const [N, C] = x.shape as [number, number];
  const S = x.shape.slice(2).reduce((p, c) => p * c, 1);
  const X = x.handle;
  const Y = new Float32Array(X.length);
  const cg = C / groups;
  const n = cg * S;
  for (let bi = 0; bi < N; bi++) {
    for (let g = 0; g < groups; g++) {
      const off = (bi * C + g * cg) * S;
      let mean = 0;
      for (let i = 0; i < n; i++) mean += X[off + i]!;
      mean /= n;
      let v = 0;
      for (let i = 0; i < n; i++) { const d = X[off + i]! - mean; v += d * d; }
      const inv = 1 / Math.sqrt(v / n + eps);
      for (let c = 0; c < cg; c++) {
        const ch = g * cg + c;
        const scale = inv * (w ? w.handle[ch]! : 1);
        const shift = (b ? b.handle[ch]! : 0) - mean * scale;
        const o = off + c * S;
        for (let i = 0; i < S; i++) Y[o + i] = X[o + i]! * scale + shift;
      }
    }
  }
  return Y;
}

export function layerNormKernel(x: F, w: F | null, b: F | null, eps: number): Float32Array {
  const D = x.shape[x.shape.length - 1]!;
  const X = x.handle;
  const Y = new Float32Array(X.length);
  for (let o = 0; o < X.length; o += D) {
    let mean = 0;
    for (let i = 0; i < D; i++) mean += X[o + i]!;
    mean /= D;
    let v = 0;
    for (let i = 0; i < D; i++) { const d = X[o + i]! - mean; v += d * d; }
    const inv = 1 / Math.sqrt(v / D + eps);
    for (let i = 0; i < D; i++) Y[o + i] = (X[o + i]! - mean) * inv * (w ? w.handle[i]! : 1) + (b ? b.handle[i]! : 0);
  }
  return Y;
}

export function rmsNormKernel(x: F, w: F | null, eps: number, unitOffset: boolean): Float32Array {
  const D = x.shape[x.shape.length - 1]!;
  const X = x.handle;
  const Y = new Float32Array(X.length);
  for (let o = 0; o < X.length; o += D) {
    let ss = 0;
    for (let i = 0; i < D; i++) ss += X[o + i]! * X[o + i]!;
    const inv = Math.fround(1 / Math.sqrt(ss / D + eps));
    for (let i = 0; i < D; i++) {
      const wi = w ? (unitOffset ? 1 + w.handle[i]! : w.handle[i]!) : 1;
      Y[o + i] = Math.fround(X[o + i]! * inv) * wi;
    }
  }
  return Y;
}
