import { expect, test } from 'vitest';
import { gemmNN, gemmNT } from '../src/backends/cpu/matmul.js';
import { RandomGenerator } from '@sdxs/core';

/** float64 reference of C = A B (B given as [k, n], or as [n, k] when transposed). */
function naive(A: Float32Array, B: Float32Array, m: number, k: number, n: number, bT: boolean): Float64Array {
  const C = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let p = 0; p < k; p++) s += A[i * k + p]! * (bT ? B[j * k + p]! : B[p * n + j]!);
    C[i * n + j] = s;
  }
  return C;
}

test('the blocked cpu GEMM kernels match a float64 reference on odd sizes and offsets', () => {
  const g = new RandomGenerator(11);
  for (const [m, k, n] of [[1, 1, 1], [3, 5, 7], [4, 4, 4], [9, 13, 2100], [17, 6, 5], [5, 3, 4100]] as const) {
    const A = g.fillNormal(new Float32Array(m * k + 3));
    const B = g.fillNormal(new Float32Array(k * n + 5));
    const ref = naive(A.subarray(3), B.subarray(5), m, k, n, false);
    const refT = naive(A.subarray(3), B.subarray(5), m, k, n, true);
    const C = new Float32Array(m * n + 2).fill(0);
    gemmNN(A, 3, B, 5, C, 2, m, k, n);
    const CT = new Float32Array(m * n);
    gemmNT(A, 3, B, 5, CT, 0, m, k, n);
    let err = 0;
    let errT = 0;
    for (let i = 0; i < m * n; i++) {
      err = Math.max(err, Math.abs(C[2 + i]! - ref[i]!));
      errT = Math.max(errT, Math.abs(CT[i]! - refT[i]!));
    }
    expect(err, `NN ${m}x${k}x${n}`).toBeLessThan(1e-4 * Math.sqrt(k));
    expect(errT, `NT ${m}x${k}x${n}`).toBeLessThan(1e-4 * Math.sqrt(k));
    expect(C[0]).toBe(0);
  }
});
