/**
 * `C.compile(label, fn)`: the arguments are the graph's inputs (nothing listed by hand), closed-over tensors
 * are taken as inputs too (never baked, never part of the cache key), state written into an argument comes
 * out of the same graph; a Parameter is constant or changing by its own declaration; and a checkpoint's
 * recompute, ordered after the gradient, cannot take up an Inf or NaN of it.
 */
import { describe, expect, test } from 'vitest';
import * as C from '@sdxs/core';
import type { LazyValue } from '../src/graph/lazy-value.js';
import { expectClose, forEachBackend, trackCompiles } from '@sdxs/core/testing';

const g = new C.RandomGenerator(7);
const W = g.fillNormal(new Float32Array(8 * 4), 0, 0.5);
const X1 = g.fillNormal(new Float32Array(3 * 8));
const X2 = g.fillNormal(new Float32Array(3 * 8));
const BIAS1 = g.fillNormal(new Float32Array(4));
const BIAS2 = g.fillNormal(new Float32Array(4));

class Head extends C.Module {
  readonly proj = new C.nn.Linear(8, 4, false);
  /** No inputs listed: `x` is the graph's input because it is the argument. */
  readonly forward = C.compile('head', (x: C.Tensor) => C.tanh(this.proj.forward(C.mul(x, 0.5))));
}

function head(): Head {
  const h = new Head();
  h.loadStateDict(new Map([['proj.weight', C.tensor(W, [4, 8])]]));
  return h;
}

/** The same arithmetic on the reference cpu backend, op by op. */
async function reference(fn: () => C.Tensor): Promise<Float32Array> {
  const active = C.getBackend();
  await C.setBackend('cpu');
  try {
    const y = fn();
    const d = (await y.data()) as Float32Array;
    y.dispose();
    return d;
  } finally {
    await C.setBackend(active);
  }
}

const headRef = (x: Float32Array, upstream: (t: C.Tensor) => C.Tensor): Promise<Float32Array> =>
  reference(() => C.tidy(() => C.tanh(C.matmul(C.mul(upstream(C.tensor(x, [3, 8])), 0.5), C.transpose(C.tensor(W, [4, 8]), [1, 0])))));

/** A checkpointed pair of outputs: exp of x and y², as one tensor. */
const pair = (x: C.Tensor, y: C.Tensor): C.Tensor => C.checkpoint((a: C.Tensor, b: C.Tensor) => C.concat([C.exp(a), C.mul(b, b)], 0), [x, y]);

forEachBackend(
  (name) => {
    const { events: compiles, count } = trackCompiles(name);

    test('arguments are the inputs: the second call hits the cache whatever computed its input, with the right values', async () => {
      const h = head();
      // two different pending computations feed the same compiled function
      const ups = [(t: C.Tensor) => C.add(t, 1), (t: C.Tensor) => C.exp(C.mul(t, 0.1))];
      for (const [i, x] of [X1, X2].entries()) {
        const up = ups[i]!;
        const want = await headRef(x, up);
        const raw = C.tensor(x, [3, 8]);
        const input = up(raw);
        if (C.isGraphBackend()) expect((input.handle as LazyValue).pending).toBe(true);
        const y = h.forward(input);
        expectClose((await y.data()) as Float32Array, want, 1e-5, 1e-5, `${name} call ${i}`);
        C.dispose([raw, input, y]);
      }
      expect(count('head')).toBe(C.isGraphBackend() ? 1 : 0);
      h.dispose();
    });

    test('a closed-over tensor (neither argument nor weight) is an input too: never baked, never in the cache key', async () => {
      const h = head();
      for (const [i, b] of [BIAS1, BIAS2].entries()) {
        const raw = C.tensor(b, [4]);
        // pending, made by different ops on each call: folded into the graph it would change the key
        const bias = i === 0 ? C.mul(raw, 2) : C.sub(C.mul(raw, 3), 1);
        const f = C.compile('closure', (x: C.Tensor) => C.add(h.proj.forward(x), bias));
        const x = C.tensor(X1, [3, 8]);
        const y = f(x);
        const want = await reference(() =>
          C.tidy(() => C.add(C.matmul(C.tensor(X1, [3, 8]), C.transpose(C.tensor(W, [4, 8]), [1, 0])), i === 0 ? C.mul(C.tensor(b, [4]), 2) : C.sub(C.mul(C.tensor(b, [4]), 3), 1))),
        );
        expectClose((await y.data()) as Float32Array, want, 1e-5, 1e-5, `${name} closure ${i}`);
        // the closed-over value was computed by a graph of its own, before the region
        if (C.isGraphBackend()) expect((bias.handle as LazyValue).pending).toBe(false);
        C.dispose([raw, bias, x, y]);
      }
      expect(count('closure')).toBe(C.isGraphBackend() ? 1 : 0);
      h.dispose();
    });

    test('tensors written into an argument come out of the same graph as the result', async () => {
      const state: { last: C.Tensor | null } = { last: null };
      const step = C.compile('state', (x: C.Tensor, s: { last: C.Tensor | null }) => {
        const y = C.mul(x, 2);
        s.last = C.keep(C.add(y, 1));
        return C.sum(y);
      });
      const x = C.tensor([1, 2, 3], [3]);
      const total = step(x, state);
      if (C.isGraphBackend()) {
        // the state is an output of the region, like its result (one group: computed together when both are needed)
        const [last, sum] = [state.last!.handle as LazyValue, total.handle as LazyValue];
        expect([last.cut, last.label, last.group]).toEqual([true, 'state', sum.group]);
      }
      // a later graph that reads the state takes it as an input, computed by the region's graph, not inlined
      const next = C.compile('next', (t: C.Tensor) => C.mul(t, 3))(state.last!);
      expect(Array.from(await next.data())).toEqual([9, 15, 21]);
      if (C.isGraphBackend()) expect(compiles.map((e) => e.label).sort()).toEqual(['next', 'state']);
      expect(Array.from(await state.last!.data())).toEqual([3, 5, 7]);
      expect(Array.from(await total.data())).toEqual([12]);
      next.dispose();
      C.dispose([x, total, state.last]);
    });

    test('a constant parameter set again is baked again; a changing one feeds the graph', async () => {
      const h = head();
      for (let i = 0; i < 2; i++) {
        h.proj.weight.set(C.tensor(W.map((v) => v + i), [4, 8]));
        const x = C.tensor(X1, [3, 8]);
        await h.forward(x).data();
        C.dispose(x);
      }
      const graph = C.isGraphBackend();
      expect(count('head')).toBe(graph ? 2 : 0);
      h.proj.weight.markChanging();
      for (let i = 2; i < 4; i++) {
        h.proj.weight.set(C.tensor(W.map((v) => v + i), [4, 8]));
        const x = C.tensor(X1, [3, 8]);
        await h.forward(x).data();
        C.dispose(x);
      }
      expect(count('head')).toBe(graph ? 3 : 0);
      h.dispose();
    });

    test('checkpoint: an Inf and a NaN in the gradient do not leak into the other gradients', async () => {
      const xs = [0.5, -1, 2, 0.25];
      const ys = [1.5, -0.5, 3, -2];
      // dy of exp(x): Inf at position 0, NaN at position 1; dy of y² finite
      const dys = [Infinity, NaN, 1, -2, 0.5, 1, -1, 2];
      const run = async (): Promise<[Float32Array, Float32Array]> => {
        const x = C.tensor(xs, [4]);
        const y = C.tensor(ys, [4]);
        const dy = C.tensor(dys, [8]);
        const { value, grads } = C.vjp(pair, [x, y], dy);
        const out = [(await grads[0]!.data()) as Float32Array, (await grads[1]!.data()) as Float32Array] as [Float32Array, Float32Array];
        C.dispose([x, y, dy, value, grads]);
        return out;
      };
      const [gx, gy] = await run();
      // d/dx exp(x)·dy and d/dy y²·dy, element by element: the Inf and NaN stay where they are
      expect(gx[0]).toBe(Infinity);
      expect(gx[1]).toBeNaN();
      for (let i = 2; i < 4; i++) expect(gx[i]).toBeCloseTo(Math.exp(xs[i]!) * dys[i]!, 5);
      for (let i = 0; i < 4; i++) expect(gy[i]).toBeCloseTo(2 * ys[i]! * dys[4 + i]!, 5);
    });
  },
  { backends: ['cpu', 'ort-cpu', 'ort-webgpu'] },
);

describe('compile on an eager backend', () => {
  test('runs fn under tidy: intermediates freed, the result kept, closed-over tensors read as they are', async () => {
    await C.setBackend('cpu');
    const bias = C.tensor([1, 2, 3], [3]);
    const f = C.compile('eager', (x: C.Tensor) => C.add(C.mul(x, 2), bias));
    const x = C.tensor([1, 1, 1], [3]);
    const before = C.memory().numTensors;
    const y = f(x);
    expect(C.memory().numTensors).toBe(before + 1);
    expect(Array.from(y.dataSync())).toEqual([3, 4, 5]);
    C.dispose([bias, x, y]);
  });
});
