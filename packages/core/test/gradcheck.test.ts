import { beforeAll, describe, expect, test } from 'vitest';
import * as C from '@sdxs/core';
import type { Tensor } from '@sdxs/core';
import { expectClose } from '@sdxs/core/testing';
import { GRAD_CASES, type GradInput } from './gradcheck-cases.js';

const EPS = 1e-3;

function inputData(spec: GradInput, seed: number): Float32Array {
  const g = new C.RandomGenerator(seed);
  const n = spec.shape.reduce((p, c) => p * c, 1);
  return Float32Array.from({ length: n }, () => (spec.gen === 'positive' ? 0.5 + 1.5 * g.uniform() : g.normal()));
}

/** L(x) = sum(fn(x) * r), accumulated in float64 on the host. */
function loss(fn: (...xs: Tensor[]) => Tensor, data: Float32Array[], shapes: number[][], r: Float64Array | null): { value: number; outShape: readonly number[] } {
  return C.tidy(() => {
    const xs = data.map((d, i) => C.tensor(d, shapes[i]));
    const y = fn(...xs);
    const v = y.dataSync();
    let s = 0;
    for (let i = 0; i < v.length; i++) s += v[i]! * (r ? r[i]! : 1);
    return { value: s, outShape: y.shape };
  });
}

beforeAll(async () => {
  await C.setBackend('cpu');
});

describe('VJP vs central differences (cpu)', () => {
  for (const c of GRAD_CASES) {
    test(c.id, () => {
      const data = c.inputs.map((s, i) => inputData(s, 17 + 31 * i + c.id.length));
      const shapes = c.inputs.map((s) => s.shape);
      const { outShape } = loss(c.fn, data, shapes, null);
      const g = new C.RandomGenerator(99);
      const r = Float64Array.from({ length: outShape.reduce((p, q) => p * q, 1) }, () => g.normal());
      const before = C.memory().numTensors;
      const analytic = C.tidy(() => {
        const xs = data.map((d, i) => C.tensor(d, shapes[i]));
        const dy = C.tensor(Float32Array.from(r), outShape);
        const { grads } = C.vjp(c.fn, xs, dy);
        return grads.map((t) => t.dataSync() as Float32Array);
      });
      expect(C.memory().numTensors).toBe(before);
      c.inputs.forEach((spec, i) => {
        if (spec.constant) return;
        const numeric = new Float64Array(data[i]!.length);
        for (let j = 0; j < numeric.length; j++) {
          const orig = data[i]![j]!;
          data[i]![j] = orig + EPS;
          const up = loss(c.fn, data, shapes, r).value;
          data[i]![j] = orig - EPS;
          const down = loss(c.fn, data, shapes, r).value;
          data[i]![j] = orig;
          numeric[j] = (up - down) / (2 * EPS);
        }
        expectClose(analytic[i]!, numeric, 2e-3, 1e-2, `${c.id} d/dx${i}`);
      });
    });
  }

  test('floor and sign have zero gradient', () => {
    const x = C.tensor([0.3, -1.2, 2.5], [3]);
    for (const fn of ['floor', 'sign'] as const) {
      const [gx] = C.grad(() => C.sum(C.unary(fn, x)), [x]);
      expect(Array.from(gx!.dataSync())).toEqual([0, 0, 0]);
      gx!.dispose();
    }
    x.dispose();
  });
});

describe('gradient checkpointing', () => {
  test('checkpoint() gives the same input and parameter grads as a plain forward, and frees its temporaries', () => {
    const g = new C.RandomGenerator(5);
    const mk = (shape: number[]): Tensor => C.tensor(g.fillNormal(new Float32Array(shape.reduce((p, c) => p * c, 1))), shape);
    const x = mk([1, 4, 6, 6]);
    const w1 = mk([4, 4, 3, 3]);
    const w2 = mk([4, 4, 3, 3]);
    const gn = mk([4]);
    // a block using parameters captured from the closure (not passed as checkpoint inputs)
    const block = (h: Tensor): Tensor => C.silu(C.groupNorm(C.conv2d(C.silu(C.conv2d(h, w1, null, { padding: 1 })), w2, null, { padding: 1 }), 2, gn, null, 1e-5));
    const lossPlain = (): Tensor => C.mean(C.square(block(block(x))));
    const lossCkpt = (): Tensor => C.mean(C.square(C.checkpoint((h) => block(C.checkpoint((u) => block(u), [h]) as Tensor), [x]) as Tensor));
    const params = [x, w1, w2, gn];
    const before = C.memory().numTensors;
    const plain = C.valueAndGrad(lossPlain, params);
    const ckpt = C.valueAndGrad(lossCkpt, params);
    expect(ckpt.value.dataSync()[0]).toBeCloseTo(plain.value.dataSync()[0]!, 6);
    plain.grads.forEach((gp, i) => expectClose(ckpt.grads[i]!.dataSync(), gp.dataSync(), 1e-6, 1e-5, `param ${i}`));
    C.dispose([plain, ckpt]);
    expect(C.memory().numTensors).toBe(before);
    C.dispose(params);
  });

  test('checkpoint() takes and returns tensor trees: arrays, plain objects and null leaves', () => {
    const g = new C.RandomGenerator(6);
    const mk = (shape: number[]): Tensor => C.tensor(g.fillNormal(new Float32Array(shape.reduce((p, c) => p * c, 1))), shape);
    const x = mk([2, 3]);
    const a = mk([2, 3]);
    const b = mk([3]);
    const w = mk([3, 3]);
    type Inputs = { a: Tensor; extra: { b: Tensor; none: null } };
    // one tensor appears twice in the result (as `sum` and inside `parts`): its gradient is counted once per use
    const block = (h: Tensor, inp: Inputs, scale: number): { sum: Tensor; parts: Tensor[]; skip: null } => {
      const y = C.matmul(C.tanh(C.add(C.mul(h, inp.a), inp.extra.b)), w);
      const z = C.mul(C.square(y), scale);
      return { sum: y, parts: [z, y], skip: null };
    };
    const total = (r: { sum: Tensor; parts: Tensor[] }): Tensor => C.add(C.add(C.sum(C.square(r.sum)), C.sum(r.parts[0]!)), C.mean(r.parts[1]!));
    const inputs: Inputs = { a, extra: { b, none: null } };
    const params = [x, a, b, w];
    const before = C.memory().numTensors;
    const plain = C.valueAndGrad(() => total(block(x, inputs, 0.5)), params);
    const ckpt = C.valueAndGrad(() => total(C.checkpoint(block, [x, inputs, 0.5])), params);
    expect(ckpt.value.dataSync()[0]).toBeCloseTo(plain.value.dataSync()[0]!, 6);
    plain.grads.forEach((gp, i) => expectClose(ckpt.grads[i]!.dataSync(), gp.dataSync(), 1e-6, 1e-5, `param ${i}`));
    // outside a tape it is a plain call that keeps the structure
    const r = C.tidy(() => C.checkpoint(block, [x, inputs, 0.5]));
    expect(r.skip).toBeNull();
    expect(r.parts[1]).toBe(r.sum);
    C.dispose([r.sum, r.parts[0]!]);
    C.dispose([plain, ckpt]);
    expect(C.memory().numTensors).toBe(before);
    C.dispose(params);
  });

  test('flattenTensors and rebuildTensors keep the tree and refuse other objects', () => {
    const [p, q] = [C.tensor([1]), C.tensor([2])];
    const tree = [p, { q, n: null, k: 3 }, [p]] as const;
    expect(C.flattenTensors(tree)).toEqual([p, q, p]);
    const [u, v, w] = [C.tensor([4]), C.tensor([5]), C.tensor([6])];
    const rebuilt = C.rebuildTensors(tree, [u, v, w]);
    expect(rebuilt[0]).toBe(u);
    expect(rebuilt[1]).toEqual({ q: v, n: null, k: 3 });
    expect(rebuilt[2][0]).toBe(w);
    expect(() => C.rebuildTensors(tree, [u])).toThrow(/holds 3 tensors, 1 were given/);
    expect(() => C.flattenTensors({ m: new Map() } as never)).toThrow(C.InputError);
    C.dispose([p, q, u, v, w]);
  });
});
