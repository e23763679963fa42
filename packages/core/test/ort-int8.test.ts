/**
 * int8 products on ort-cpu (compute 'int8', core/src/onnx/int8.ts): the weight quantizers, and every lowering
 * against the float32 cpu backend with the same weights — the activation quantized per row (few rows) and per
 * tensor (many rows), a product by an untransposed weight, and convolutions written as products over their taps (padding,
 * stride, dilation, bias, batch). Each must differ from float32 (it ran in int8) and stay within one product's error.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as C from '@sdxs/core';
import { INT8_CONV_MIN_DEPTH, INT8_CONV_MIN_OUTPUTS, INT8_ROTATION, INT8_ROWWISE_MAX_ROWS, hadamardBlocks, quantizeColumns, quantizedCopies, rotationBlock } from '../src/onnx/int8.js';
import type { LazyValue } from '../src/graph/lazy-value.js';
import { relL2Error, skipUnlessBackend } from '@sdxs/core/testing';

/** One int8 product errs by 0.8–1.5% (relative L2) on random data; a chain of two somewhat more. */
const ONE_PRODUCT = 2.5e-2;

describe('int8 weight quantizers', () => {
  const g = new C.RandomGenerator(3);
  test('per column: every value within half a step, zero columns scale 1, taps reordered to (ky, kx, c)', () => {
    const [o, c, taps] = [5, 3, 4];
    const w = g.fillNormal(new Float32Array(o * c * taps), 0, 1);
    w.fill(0, 2 * c * taps, 3 * c * taps); // output channel 2: all zeros
    const { q, scale } = quantizeColumns(w, c * taps, o, true, taps);
    expect(scale[2]).toBe(1);
    for (let j = 0; j < o; j++) {
      for (let ch = 0; ch < c; ch++) {
        for (let t = 0; t < taps; t++) {
          const stored = w[(j * c + ch) * taps + t]!;
          const back = q[(t * c + ch) * o + j]! * scale[j]!;
          expect(Math.abs(back - stored)).toBeLessThanOrEqual(scale[j]! / 2 + 1e-7);
        }
      }
      if (j !== 2) expect(Math.max(...Array.from({ length: c * taps }, (_, i) => Math.abs(q[i * o + j]!)))).toBe(127);
    }
  });

  test('Hadamard rotation: the Sylvester matrix (±1/√n by the parity of i & j), per block, its own inverse', () => {
    for (const n of [2, 8, 32, 64]) {
      const v = g.fillNormal(new Float32Array(3 * n), 0, 1);
      const got = hadamardBlocks(v.slice(), n);
      for (let blk = 0; blk < 3; blk++) {
        for (let i = 0; i < n; i++) {
          let want = 0;
          for (let j = 0; j < n; j++) {
            let bits = i & j;
            let parity = 0;
            while (bits) (parity ^= bits & 1), (bits >>= 1);
            want += (parity ? -1 : 1) * v[blk * n + j]! / Math.sqrt(n);
          }
          expect(got[blk * n + i]).toBeCloseTo(want, 5);
        }
      }
      const back = hadamardBlocks(got.slice(), n);
      back.forEach((x, i) => expect(x).toBeCloseTo(v[i]!, 5));
    }
  });

  test('rotation block: the largest power of two up to INT8_ROTATION dividing the contraction', () => {
    expect(rotationBlock(2048)).toBe(INT8_ROTATION);
    expect(rotationBlock(320)).toBe(64);
    expect(rotationBlock(96)).toBe(32);
    expect(rotationBlock(40)).toBe(8);
    expect(rotationBlock(7)).toBe(1);
  });

  test('per column of a rotated weight: each column is H·w quantized', () => {
    const [k, n] = [64, 3];
    const kn = g.fillNormal(new Float32Array(k * n), 0, 1);
    const { q, scale } = quantizeColumns(kn, k, n, false, 1, 32);
    for (let j = 0; j < n; j++) {
      const col = hadamardBlocks(Float32Array.from({ length: k }, (_, i) => kn[i * n + j]!), 32);
      for (let i = 0; i < k; i++) expect(Math.abs(q[i * n + j]! * scale[j]! - col[i]!)).toBeLessThanOrEqual(scale[j]! / 2 + 1e-6);
    }
  });
});

class Products extends C.Module {
  readonly proj = new C.nn.Linear(96, 80, true);
  readonly plain = new C.Parameter([80, 40]);
  readonly forward = C.compile('int8-products', (x: C.Tensor) => C.matmul(C.gelu(this.proj.forward(x)), this.plain.use()));
}

class Convs extends C.Module {
  // 256 input channels at 3x3 (a contraction of 2304 = INT8_CONV_MIN_DEPTH) and 128 outputs: int8
  readonly conv_a = new C.nn.Conv2d(256, 128, 3, { padding: 1, bias: true });
  readonly conv_b = new C.nn.Conv2d(256, 128, 3, { stride: 2, padding: 1, bias: false });
  readonly conv_c = new C.nn.Conv2d(256, 160, 3, { dilation: 2, padding: 2, bias: true });
  // too few outputs, too short a contraction: float32
  readonly conv_out = new C.nn.Conv2d(256, 3, 3, { padding: 1, bias: true });
  readonly conv_short = new C.nn.Conv2d(256, 128, 1, { bias: true });
  readonly forward = C.compile('int8-convs', (x: C.Tensor) => [this.conv_a.forward(x), this.conv_b.forward(x), this.conv_c.forward(x), this.conv_out.forward(x), this.conv_short.forward(x)]);
}

class Norms extends C.Module {
  readonly norm = new C.nn.GroupNorm(4, 16);
  readonly plain = new C.nn.GroupNorm(2, 16, 1e-6, false);
  readonly forward = C.compile('int8-norms', (x: C.Tensor) => [this.norm.forward(x), this.plain.forward(x)]);
}

/** Seeded random values for each parameter of a module (by name, with its shape). */
function randomWeights(m: C.Module, seed: number): Map<string, { data: Float32Array; shape: readonly number[] }> {
  const g = new C.RandomGenerator(seed);
  const out = new Map(m.namedParameters().map(([name, p]) => [name, { data: g.fillNormal(new Float32Array(p.shape.reduce((a, b) => a * b, 1)), 0, 0.05), shape: p.shape }]));
  m.dispose();
  return out;
}

/** The module's outputs on `backend` in `compute`, from the given weights; leaves no tensor behind. */
async function run<M extends C.Module>(backend: string, compute: 'float32' | 'int8', make: () => M, weights: ReturnType<typeof randomWeights>, input: Float32Array, shape: number[], fwd: (m: M, x: C.Tensor) => C.Tensor[]): Promise<Float32Array[]> {
  await C.setBackend(backend, { compute });
  const before = C.memory().numTensors;
  const m = make();
  m.loadStateDict(new Map([...weights].map(([k, w]) => [k, C.tensor(w.data, w.shape)])));
  const x = C.tensor(input, shape);
  const ys = fwd(m, x);
  const out = await Promise.all(ys.map(async (y) => (await y.data()) as Float32Array));
  C.dispose([x, ...ys]);
  m.dispose();
  expect(C.memory().numTensors).toBe(before);
  return out;
}

describe('int8 products on ort-cpu', async () => {
  const skip = await skipUnlessBackend('ort-cpu:int8');
  beforeAll(async () => {
    await C.setBackend('cpu');
  });
  afterAll(async () => {
    await C.setBackend('cpu');
  });

  const check = (label: string, got: Float32Array, want: Float32Array): void => {
    const e = relL2Error(got, want);
    console.log(`[int8] ${label}: relative L2 error ${e.toExponential(2)}`);
    expect(e, `${label}: int8 equals float32, so it did not run in int8`).toBeGreaterThan(1e-4);
    expect(e, `${label}: ${e} exceeds one product's error`).toBeLessThanOrEqual(ONE_PRODUCT);
  };

  for (const rows of [INT8_ROWWISE_MAX_ROWS / 8, 2 * INT8_ROWWISE_MAX_ROWS]) {
    test.skipIf(skip)(`linear + untransposed product, ${rows} rows (activation quantized ${rows <= INT8_ROWWISE_MAX_ROWS ? 'per row' : 'per tensor'})`, async () => {
      const weights = randomWeights(new Products(), 11);
      const g = new C.RandomGenerator(rows);
      const x = g.fillNormal(new Float32Array(rows * 96), 0, 1);
      const shape = [2, rows / 2, 96];
      const fwd = (m: Products, t: C.Tensor): C.Tensor[] => [m.forward(t)];
      const [want] = await run('cpu', 'float32', () => new Products(), weights, x, shape, fwd);
      const [got] = await run('ort-cpu', 'int8', () => new Products(), weights, x, shape, fwd);
      check(`products, ${rows} rows`, got!, want!);
    });
  }

  test.skipIf(skip)(`convolutions with C·kH·kW ≥ ${INT8_CONV_MIN_DEPTH} and ≥ ${INT8_CONV_MIN_OUTPUTS} outputs: padding, stride 2, dilation 2, bias, batch 2; the others stay float32`, async () => {
    const weights = randomWeights(new Convs(), 5);
    const g = new C.RandomGenerator(9);
    const x = g.fillNormal(new Float32Array(2 * 256 * 9 * 11), 0, 1);
    const shape = [2, 256, 9, 11];
    const fwd = (m: Convs, t: C.Tensor): C.Tensor[] => m.forward(t);
    const want = await run('cpu', 'float32', () => new Convs(), weights, x, shape, fwd);
    const got = await run('ort-cpu', 'int8', () => new Convs(), weights, x, shape, fwd);
    ['padding 1 + bias', 'stride 2', 'dilation 2 + bias'].forEach((label, i) => check(`conv ${label}`, got[i]!, want[i]!));
    for (const [i, label] of [[3, '3 outputs'], [4, '1x1, a contraction of 256']] as const) {
      const e = relL2Error(got[i]!, want[i]!);
      expect(e, `conv with ${label} ran in int8 (error ${e})`).toBeLessThan(1e-5);
    }
  });

  test.skipIf(skip)('group norm in one pass (int8 graphs): float32 accuracy, with the mean 8x the spread, batch 2, with and without affine', async () => {
    const weights = randomWeights(new Norms(), 21);
    // the affine weight around 1 (randomWeights gives N(0, 0.05)), so the check is not dominated by a tiny scale
    weights.get('norm.weight')!.data.forEach((w, i, a) => (a[i] = 1 + w));
    const g = new C.RandomGenerator(22);
    const x = g.fillNormal(new Float32Array(2 * 16 * 7 * 9), 8, 1);
    const shape = [2, 16, 7, 9];
    const fwd = (m: Norms, t: C.Tensor): C.Tensor[] => m.forward(t);
    const want = await run('cpu', 'float32', () => new Norms(), weights, x, shape, fwd);
    const got = await run('ort-cpu', 'int8', () => new Norms(), weights, x, shape, fwd);
    for (const [i, label] of [[0, 'affine'], [1, 'no affine']] as const) {
      const e = relL2Error(got[i]!, want[i]!);
      console.log(`[int8] group norm (${label}): relative L2 error ${e.toExponential(2)}`);
      expect(e, `group norm (${label})`).toBeLessThan(1e-5);
    }
  });

  test.skipIf(skip)('a graph at a new size reuses the quantized weights; releasing the weight drops them', async () => {
    const weights = randomWeights(new Products(), 13);
    const g = new C.RandomGenerator(14);
    const xs = [g.fillNormal(new Float32Array(2 * 8 * 96), 0, 1), g.fillNormal(new Float32Array(2 * 24 * 96), 0, 1)];
    const fwd = (m: Products, t: C.Tensor): C.Tensor[] => [m.forward(t)];
    const want = await run('ort-cpu', 'int8', () => new Products(), weights, xs[1]!, [2, 24, 96], fwd);
    await C.setBackend('ort-cpu', { compute: 'int8' });
    const m = new Products();
    m.loadStateDict(new Map([...weights].map(([k, w]) => [k, C.tensor(w.data, w.shape)])));
    const handle = m.proj.weight.value.handle as LazyValue;
    const outs: Float32Array[] = [];
    for (const [i, rows] of [8, 24].entries()) {
      const x = C.tensor(xs[i]!, [2, rows, 96]);
      const y = m.forward(x);
      outs.push((await y.data()) as Float32Array);
      C.dispose([x, y]);
      expect(quantizedCopies(handle), `after the graph at ${rows} rows`).toBe(1);
    }
    // the second size, from the kept copy, equals a model quantized afresh at that size
    expect(outs[1]).toEqual(want[0]);
    m.dispose();
    expect(quantizedCopies(handle)).toBe(0);
  });

  test.skipIf(skip)('int8 compute is refused where it cannot run, naming the backend', async () => {
    await expect(C.setBackend('cpu', { compute: 'int8' })).rejects.toThrow("backend 'cpu' computes in float32 only (asked for compute: 'int8')");
  });
});
