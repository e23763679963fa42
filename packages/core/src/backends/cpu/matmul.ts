import type { KernelInput, KernelOutput } from '../../backend.js';
import { broadcastStrides } from './strided.js';

/** Column block of the NN kernel: 4 rows of C and 4 rows of B of this width stay in cache. */
const NN_COLS = 2048;

/**
 * C[m, n] += A[m, k] B[k, n] (row-major, contiguous). Register-blocked 4 rows of A × 4 steps of k: each
 * pass over a column block does 16 multiply-adds per 4 loads of B and 4 loads + stores of C.
 */
export function gemmNN(A: Float32Array, aOff: number, B: Float32Array, bOff: number, C: Float32Array, cOff: number, m: number, k: number, n: number): void {
  for (let j0 = 0; j0 < n; j0 += NN_COLS) {
    const j1 = Math.min(n, j0 + NN_COLS);
    let i = 0;
    for (; i + 3 < m; i += 4) {
      const c0 = cOff + i * n, c1 = c0 + n, c2 = c1 + n, c3 = c2 + n;
      const a0 = aOff + i * k, a1 = a0 + k, a2 = a1 + k, a3 = a2 + k;
      let p = 0;
      for (; p + 3 < k; p += 4) {
        const x00 = A[a0 + p]!, x01 = A[a0 + p + 1]!, x02 = A[a0 + p + 2]!, x03 = A[a0 + p + 3]!;
        const x10 = A[a1 + p]!, x11 = A[a1 + p + 1]!, x12 = A[a1 + p + 2]!, x13 = A[a1 + p + 3]!;
        const x20 = A[a2 + p]!, x21 = A[a2 + p + 1]!, x22 = A[a2 + p + 2]!, x23 = A[a2 + p + 3]!;
        const x30 = A[a3 + p]!, x31 = A[a3 + p + 1]!, x32 = A[a3 + p + 2]!, x33 = A[a3 + p + 3]!;
        const b0 = bOff + p * n, b1 = b0 + n, b2 = b1 + n, b3 = b2 + n;
        for (let j = j0; j < j1; j++) {
          const y0 = B[b0 + j]!, y1 = B[b1 + j]!, y2 = B[b2 + j]!, y3 = B[b3 + j]!;
          C[c0 + j]! += x00 * y0 + x01 * y1 + x02 * y2 + x03 * y3;
          C[c1 + j]! += x10 * y0 + x11 * y1 + x12 * y2 + x13 * y3;
          C[c2 + j]! += x20 * y0 + x21 * y1 + x22 * y2 + x23 * y3;
          C[c3 + j]! += x30 * y0 + x31 * y1 + x32 * y2 + x33 * y3;
        }
      }
      for (; p < k; p++) {
        const x0 = A[a0 + p]!, x1 = A[a1 + p]!, x2 = A[a2 + p]!, x3 = A[a3 + p]!;
        const b = bOff + p * n;
        for (let j = j0; j < j1; j++) {
          const y = B[b + j]!;
          C[c0 + j]! += x0 * y;
          C[c1 + j]! += x1 * y;
          C[c2 + j]! += x2 * y;
          C[c3 + j]! += x3 * y;
        }
      }
    }
    for (; i < m; i++) {
      const ci = cOff + i * n;
      const ai = aOff + i * k;
      for (let p = 0; p < k; p++) {
        const x = A[ai + p]!;
        if (x === 0) continue;
        const b = bOff + p * n;
        for (let j = j0; j < j1; j++) C[ci + j]! += x * B[b + j]!;
      }
    }
  }
}

/**
 * C[m, n] = A[m, k] B[n, k]ᵀ: dot products of contiguous rows, 4 rows of A × 4 rows of B at a time
 * (16 accumulators, 8 loads per 16 multiply-adds).
 */
export function gemmNT(A: Float32Array, aOff: number, B: Float32Array, bOff: number, C: Float32Array, cOff: number, m: number, k: number, n: number): void {
  let i = 0;
  for (; i + 3 < m; i += 4) {
    const a0 = aOff + i * k, a1 = a0 + k, a2 = a1 + k, a3 = a2 + k;
    const c0 = cOff + i * n, c1 = c0 + n, c2 = c1 + n, c3 = c2 + n;
    let j = 0;
    for (; j + 3 < n; j += 4) {
      const b0 = bOff + j * k, b1 = b0 + k, b2 = b1 + k, b3 = b2 + k;
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
      for (let p = 0; p < k; p++) {
        const x0 = A[a0 + p]!, x1 = A[a1 + p]!, x2 = A[a2 + p]!, x3 = A[a3 + p]!;
        const y0 = B[b0 + p]!, y1 = B[b1 + p]!, y2 = B[b2 + p]!, y3 = B[b3 + p]!;
        s00 += x0 * y0; s01 += x0 * y1; s02 += x0 * y2; s03 += x0 * y3;
        s10 += x1 * y0; s11 += x1 * y1; s12 += x1 * y2; s13 += x1 * y3;
        s20 += x2 * y0; s21 += x2 * y1; s22 += x2 * y2; s23 += x2 * y3;
        s30 += x3 * y0; s31 += x3 * y1; s32 += x3 * y2; s33 += x3 * y3;
      }
      C[c0 + j] = s00; C[c0 + j + 1] = s01; C[c0 + j + 2] = s02; C[c0 + j + 3] = s03;
      C[c1 + j] = s10; C[c1 + j + 1] = s11; C[c1 + j + 2] = s12; C[c1 + j + 3] = s13;
      C[c2 + j] = s20; C[c2 + j + 1] = s21; C[c2 + j + 2] = s22; C[c2 + j + 3] = s23;
      C[c3 + j] = s30; C[c3 + j + 1] = s31; C[c3 + j + 2] = s32; C[c3 + j + 3] = s33;
    }
    for (; j < n; j++) {
      const b = bOff + j * k;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let p = 0; p < k; p++) {
        const y = B[b + p]!;
        s0 += A[a0 + p]! * y;
        s1 += A[a1 + p]! * y;
        s2 += A[a2 + p]! * y;
        s3 += A[a3 + p]! * y;
      }
      C[c0 + j] = s0; C[c1 + j] = s1; C[c2 + j] = s2; C[c3 + j] = s3;
    }
  }
  for (; i < m; i++) {
    const ai = aOff + i * k;
    for (let j = 0; j < n; j++) {
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
