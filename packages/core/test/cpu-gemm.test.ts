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

test('the cpu conv2d in blocks of output rows equals a direct convolution (several blocks, stride, dilation, groups)', async () => {
  const C = await import('@sdxs/core');
  await C.setBackend('cpu');
  const g = new RandomGenerator(5);
  for (const o of [
    { N: 1, C: 2, H: 130, W: 140, O: 3, k: 3, stride: 1, pad: 1, dil: 1, groups: 1 },
    { N: 2, C: 4, H: 600, W: 121, O: 4, k: 3, stride: 2, pad: 2, dil: 2, groups: 2 },
  ]) {
    const x = g.fillNormal(new Float32Array(o.N * o.C * o.H * o.W));
    const w = g.fillNormal(new Float32Array(o.O * (o.C / o.groups) * o.k * o.k));
    const b = g.fillNormal(new Float32Array(o.O));
    const y = C.conv2d(C.tensor(x, [o.N, o.C, o.H, o.W]), C.tensor(w, [o.O, o.C / o.groups, o.k, o.k]), C.tensor(b, [o.O]), { stride: o.stride, padding: o.pad, dilation: o.dil, groups: o.groups });
    const [, , OH, OW] = y.shape as [number, number, number, number];
    expect(OH * OW).toBeGreaterThan(16384);
    const got = (await y.data()) as Float32Array;
    const cg = o.C / o.groups;
    const og = o.O / o.groups;
    let err = 0;
    for (let n = 0; n < o.N; n++) for (let oc = 0; oc < o.O; oc++) for (let i = 0; i < OH; i += 7) for (let j = 0; j < OW; j += 3) {
      let s = b[oc]!;
      const grp = Math.floor(oc / og);
      for (let c = 0; c < cg; c++) for (let kh = 0; kh < o.k; kh++) for (let kw = 0; kw < o.k; kw++) {
        const ih = i * o.stride - o.pad + kh * o.dil;
        const iw = j * o.stride - o.pad + kw * o.dil;
        if (ih < 0 || ih >= o.H || iw < 0 || iw >= o.W) continue;
        s += x[((n * o.C + grp * cg + c) * o.H + ih) * o.W + iw]! * w[((oc * cg + c) * o.k + kh) * o.k + kw]!;
      }
      err = Math.max(err, Math.abs(s - got[((n * o.O + oc) * OH + i) * OW + j]!));
    }
    expect(err).toBeLessThan(1e-4);
  }
});
