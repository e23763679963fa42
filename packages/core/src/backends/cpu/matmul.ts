import type { KernelInput, KernelOutput } from '../../backend.js';
import { broadcastStrides } from './strided.js';

/** C[m, n] += A[m, k] B[k, n] (row-major, contiguous); i-k-j order so the inner loop streams. */
export function gemmNN(A: Float32Array, aOff: number, B: Float32Array, bOff: number, C: Float32Array, cOff: number, m: number, k: number, n: number): void {
  for (let i = 0; i < m; i++) {
    const ci = cOff + i * n;
    const ai = aOff + i * k;
    for (let p = 0; p < k; p++) {
      const av = A[ai + p]!;
      if (av === 0) continue;
      const bp = bOff + p * n;
      for (let j = 0; j < n; j++) C[ci + j]! += av * B[bp + j]!;
    }
  }
}

/** C[m, n] = A[m, k] B[n, k]ᵀ: dot products of contiguous rows, 4 columns at a time. */
export function gemmNT(A: Float32Array, aOff: number, B: Float32Array, bOff: number, C: Float32Array, cOff: number, m: number, k: number, n: number): void {
  for (let i = 0; i < m; i++) {
    const ai = aOff + i * k;
    let j = 0;
    for (; j + 3 < n; j += 4) {
      const b0 = bOff + j * k, b1 = b0 + k, b2 = b1 + k, b3 = b2 + k;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let p = 0; p < k; p++) {
        const av = A[ai + p]!;
        s0 += av * B[b0 + p]!;
        s1 += av * B[b1 + p]!;
        s2 += av * B[b2 + p]!;
        s3 += av * B[b3 + p]!;
      }
      C[cOff + i * n + j] = s0;
      C[cOff + i * n + j + 1] = s1;
      C[cOff + i * n + j + 2] = s2;
      C[cOff + i * n + j + 3] = s3;
    }
    for (; j < n; j++) {
      const bj = bOff + j * k;
      let s = 0;
      for (let p = 0; p < k; p++) s += A[ai + p]! * B[bj + p]!;
      C[cOff + i * n + j] = s;
    }
  }
}

/** Transpose the last two axes of a batch of [r, c] matrices. */
export function transposeLast2(a: Float32Array, batch: number, r: number, c: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let b = 0; b < batch; b++) {
    const o = b * r * c;
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[o + j * r + i] = a[o + i * c + j]!;
  }
  return out;
}

export function matmulKernel(x: KernelInput<Float32Array>, y: KernelInput<Float32Array>, tA: boolean, tB: boolean, out: KernelOutput): Float32Array {
  const ra = x.shape.length;
  const rb = y.shape.length;
  const m = out.shape[out.shape.length - 2]!;
  const n = out.shape[out.shape.length - 1]!;
  const k = tA ? x.shape[ra - 2]! : x.shape[ra - 1]!;
  const batchShape = out.shape.slice(0, -2);
  const nBatch = batchShape.reduce((p, c) => p * c, 1);
  const batchA = x.shape.slice(0, -2).reduce((p, c) => p * c, 1);
  let A = x.handle;
  if (tA) A = transposeLast2(A, batchA, k, m);
  const B = y.handle;
  const sA = broadcastStrides(x.shape.slice(0, -2), batchShape);
  const sB = broadcastStrides(y.shape.slice(0, -2), batchShape);
  const C = new Float32Array(nBatch * m * n);
  const idx = new Array<number>(batchShape.length).fill(0);
  for (let bi = 0; bi < nBatch; bi++) {
    let oa = 0, ob = 0;
    for (let d = 0; d < idx.length; d++) { oa += idx[d]! * sA[d]!; ob += idx[d]! * sB[d]!; }
    if (tB) gemmNT(A, oa * m * k, B, ob * k * n, C, bi * m * n, m, k, n);
    else gemmNN(A, oa * m * k, B, ob * k * n, C, bi * m * n, m, k, n);
    for (let d = idx.length - 1; d >= 0; d--) {
      idx[d]!++;
      if (idx[d]! < batchShape[d]!) break;
      idx[d] = 0;
    }
  }
  return C;
}
