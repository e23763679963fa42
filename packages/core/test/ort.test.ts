/**
 * The compiled backends (ort-*): graph capture, the session cache, 16-bit weights kept 16-bit, eager ops
 * mixed with compiled regions, and what happens without ONNX Runtime. Parity of every op is in
 * conformance.test.ts; parity of the models in each model package's parity tests.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import * as C from '@sdxs/core';
import { lowerSegment } from '../src/onnx/lower.js';
import { planSegment } from '../src/graph/segment.js';
import type { LazyValue } from '../src/graph/lazy-value.js';
import { expectClose, forEachBackend, skipUnless, trackCompiles } from '@sdxs/core/testing';

class Block extends C.Module {
  readonly proj = new C.nn.Linear(16, 32, true);
  readonly norm = new C.nn.LayerNorm(32, 1e-5);
  readonly forward = C.compile('block', (x: C.Tensor) => C.gelu(this.norm.forward(this.proj.forward(x))));
}

function randomBlock(seed: number): Map<string, Float32Array> {
  const g = new C.RandomGenerator(seed);
  const m = new Map<string, Float32Array>();
  m.set('proj.weight', g.fillNormal(new Float32Array(32 * 16), 0, 0.3));
  m.set('proj.bias', g.fillNormal(new Float32Array(32), 0, 0.1));
  m.set('norm.weight', g.fillNormal(new Float32Array(32), 1, 0.1));
  m.set('norm.bias', g.fillNormal(new Float32Array(32), 0, 0.1));
  return m;
}

function load(block: Block, w: Map<string, Float32Array>, dtype: 'float32' | 'float16'): void {
  const shapes: Record<string, number[]> = { 'proj.weight': [32, 16], 'proj.bias': [32], 'norm.weight': [32], 'norm.bias': [32] };
  const sd = new Map<string, C.Tensor>();
  for (const [k, v] of w) sd.set(k, dtype === 'float16' ? C.fromData(C.f32ToF16(v), shapes[k]!, 'float16') : C.tensor(v, shapes[k]!));
  block.loadStateDict(sd);
}

async function reference(w: Map<string, Float32Array>, x: Float32Array, dtype: 'float32' | 'float16'): Promise<Float32Array> {
  const active = C.getBackend();
  await C.setBackend('cpu');
  try {
    const b = new Block();
    load(b, w, dtype);
    const y = b.forward(C.tensor(x, [2, 3, 16]));
    const d = (await y.data()) as Float32Array;
    y.dispose();
    b.dispose();
    return d;
  } finally {
    await C.setBackend(active);
  }
}

forEachBackend(
  (name) => {
    const { count } = trackCompiles(name);

    test('a module forward is one compiled graph, compiled once per shape and reused', async () => {
      const w = randomBlock(1);
      const b = new Block();
      load(b, w, 'float32');
      const xs = new C.RandomGenerator(2).fillNormal(new Float32Array(2 * 3 * 16));
      const want = await reference(w, xs, 'float32');
      for (let i = 0; i < 3; i++) {
        const x = C.tensor(xs, [2, 3, 16]);
        const y = b.forward(x);
        expectClose((await y.data()) as Float32Array, want, 5e-5, 1e-4, `${name} run ${i}`);
        C.dispose([x, y]);
      }
      expect(count('block')).toBe(1);
      // another shape is another graph
      const x = C.tensor(new Float32Array(5 * 16).fill(0.5), [1, 5, 16]);
      const y = b.forward(x);
      expect(y.shape).toEqual([1, 5, 32]);
      await y.data();
      C.dispose([x, y]);
      expect(count('block')).toBe(2);
      b.dispose();
    });

    test('float16 weights stay 16-bit in the graph and match the cpu backend', async () => {
      const w = randomBlock(3);
      const b = new Block();
      load(b, w, 'float16');
      const xs = new C.RandomGenerator(4).fillNormal(new Float32Array(2 * 3 * 16));
      const want = await reference(w, xs, 'float16');
      const x = C.tensor(xs, [2, 3, 16]);
      const y = b.forward(x);
      // the recorded graph holds the 16-bit words themselves: 2 bytes per weight in the session's external data
      const seg = planSegment([y.handle as LazyValue], 'block');
      const lowered = lowerSegment(seg);
      expect(lowered.externalData.map((e) => e.data.byteLength)).toEqual([2 * 32 * 16]);
      expectClose((await y.data()) as Float32Array, want, 5e-5, 1e-4, `${name} float16`);
      C.dispose([x, y]);
      // every use of a 16-bit weight wraps the same graph value: a second call reuses the session
      const x2 = C.tensor(xs, [2, 3, 16]);
      const y2 = b.forward(x2);
      expectClose((await y2.data()) as Float32Array, want, 5e-5, 1e-4, `${name} float16, second call`);
      C.dispose([x2, y2]);
      expect(count('block')).toBe(1);
      const runner = (C.currentBackend() as C.LazyBackend).runner;
      const held = runner.size!();
      b.dispose();
      expect(runner.size!()).toBe(held - 1);
    });

    test('a training graph (forward and backward of a weight) is marked as sharing weights; inference is not', async () => {
      const b = new Block();
      load(b, randomBlock(5), 'float16');
      const xs = new C.RandomGenerator(6).fillNormal(new Float32Array(2 * 3 * 16));
      const x = C.tensor(xs, [2, 3, 16]);
      const y = b.forward(x);
      expect(lowerSegment(planSegment([y.handle as LazyValue], 'block')).sharedWeights).toBe(false);
      // d(sum y)/dx multiplies by the same weight as the forward: two products of one weight in one graph
      const { value, grads } = C.valueAndGrad(() => C.sum(b.forward(x)), [x]);
      const seg = planSegment([value.handle as LazyValue, grads[0]!.handle as LazyValue], 'train');
      expect(lowerSegment(seg).sharedWeights).toBe(true);
      await C.realize([y, value, ...grads]);
      C.dispose([x, y, value, ...grads]);
      b.dispose();
    });

    test('a bias shared by two convolutions is not a shared weight (pre-packing stays on); one filter in two is', async () => {
      const g = new C.RandomGenerator(7);
      const param = (shape: number[]): C.Parameter => {
        const p = new C.Parameter(shape);
        p.set(C.tensor(g.fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1))), shape));
        return p;
      };
      const [w1, w2, bias] = [param([4, 4, 3, 3]), param([4, 4, 3, 3]), param([4])];
      const x = C.tensor(g.fillNormal(new Float32Array(4 * 36)), [1, 4, 6, 6]);
      const a = C.add(C.conv2d(x, w1.use(), bias.use(), { padding: 1 }), C.conv2d(x, w2.use(), bias.use(), { padding: 1 }));
      expect(lowerSegment(planSegment([a.handle as LazyValue], 'bias')).sharedWeights).toBe(false);
      const b = C.add(C.conv2d(x, w1.use(), bias.use(), { padding: 1 }), C.conv2d(C.relu(x), w1.use(), null, { padding: 1 }));
      expect(lowerSegment(planSegment([b.handle as LazyValue], 'filter')).sharedWeights).toBe(true);
      await C.realize([a, b]);
      C.dispose([x, a, b, w1.value, w2.value, bias.value]);
    });

    test('eager ops (a user matmul, a scheduler step) run on the same backend; a pending value is read asynchronously', async () => {
      const a = C.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
      const m = C.tensor([1, 0, 0, 1, 1, 1], [3, 2]);
      const y = C.add(C.matmul(a, m), 0.5);
      // ONNX Runtime's public API runs sessions asynchronously only: a sync read of a pending value says so
      expect(() => y.dataSync()).toThrow(/use await t\.data\(\)/);
      expect(Array.from(await y.data())).toEqual([4.5, 5.5, 10.5, 11.5]);
      // once realised, sync reads work
      expect(Array.from(y.dataSync())).toEqual([4.5, 5.5, 10.5, 11.5]);
      expect(Array.from(await C.mul(y, 2).data())).toEqual([9, 11, 21, 23]);
      C.dispose([a, m, y]);
    });

    test('disposing a weight drops the sessions that hold it', async () => {
      const runner = (C.currentBackend() as C.LazyBackend).runner;
      const b = new Block();
      load(b, randomBlock(5), 'float32');
      const x = C.tensor(new Float32Array(2 * 3 * 16).fill(1), [2, 3, 16]);
      const y = b.forward(x);
      await y.data();
      const held = runner.size!();
      b.dispose();
      expect(runner.size!()).toBe(held - 1);
      C.dispose([x, y]);
    });

    test('a forward recorded before its model was disposed still runs, and its session is not kept', async () => {
      const runner = (C.currentBackend() as C.LazyBackend).runner;
      for (const dtype of ['float32', 'float16'] as const) {
        const w = randomBlock(21);
        const b = new Block();
        load(b, w, dtype);
        const xs = new C.RandomGenerator(22).fillNormal(new Float32Array(2 * 3 * 16));
        const want = await reference(w, xs, dtype);
        const x = C.tensor(xs, [2, 3, 16]);
        const y = b.forward(x);
        const held = runner.size!();
        b.dispose();
        expectClose((await y.data()) as Float32Array, want, 5e-5, 1e-4, `${name} ${dtype} after dispose`);
        expect(runner.size!()).toBe(held);
        C.dispose([x, y]);
      }
    });

    test('realize() runs pending work; compile() outputs are computed by one segment', async () => {
      const b = new Block();
      load(b, randomBlock(6), 'float32');
      const x = C.tensor(new Float32Array(2 * 3 * 16).fill(0.25), [2, 3, 16]);
      const y = b.forward(x);
      expect((y.handle as LazyValue).pending).toBe(true);
      await C.realize(y);
      expect((y.handle as LazyValue).pending).toBe(false);
      C.dispose([x, y]);
      b.dispose();
    });
  },
  { backends: ['ort-cpu', 'ort-webgpu'] },
);

describe('graph helpers on eager backends', () => {
  test('compile() is a plain call under tidy and realize() a no-op on cpu', async () => {
    await C.setBackend('cpu');
    expect(C.isGraphBackend()).toBe(false);
    const x = C.tensor([1, 2, 3], [3]);
    const before = C.memory().numTensors;
    const y = C.compile('id', (x: C.Tensor) => C.mul(C.add(x, 0), 2))(x);
    // the intermediate (x + 0) was freed, the result kept
    expect(C.memory().numTensors).toBe(before + 1);
    await C.realize(y);
    expect(Array.from(y.dataSync())).toEqual([2, 4, 6]);
    C.dispose([x, y]);
  });

  test('the ort backends are registered and name the install step when ONNX Runtime is missing', async () => {
    expect(C.listBackends()).toEqual(expect.arrayContaining(['ort-cpu', 'ort-webgpu', 'ort-cuda']));
    const why = await C.backendFailure('ort-cuda');
    // CUDA's provider is not bundled with onnxruntime-node (its install script downloads it)
    if (why !== null) {
      expect(why).toMatch(/cuda/i);
      console.warn(`[sdxs tests] ort-cuda unavailable here (expected without a GPU and its provider): ${why.split('\n')[0]}`);
    }
  });
});

forEachBackend(
  (name) => {
    test('a parameter marked changing (what an optimizer does) is a graph input: later values reuse the graph', async () => {
      let compiles = 0;
      const off = C.onCompile((e) => {
        if (e.phase === 'end' && e.backend === name && e.label === 'block') compiles++;
      });
      try {
        for (const dtype of ['float32', 'float16'] as const) {
          compiles = 0;
          const w = randomBlock(11);
          const b = new Block();
          load(b, w, dtype);
          expect(b.proj.weight.weightKind).toBe('constant');
          // an optimizer's writeParameter says so before it writes: the value changes between runs
          b.proj.weight.markChanging();
          expect(b.proj.weight.weightKind).toBe('changing');
          const xs = new C.RandomGenerator(12).fillNormal(new Float32Array(2 * 3 * 16));
          for (let step = 0; step < 4; step++) {
            // what an optimizer does: new values for proj.weight
            const next = w.get('proj.weight')!.map((v, i) => v + 0.01 * step * Math.sin(i));
            w.set('proj.weight', next);
            b.proj.weight.set(dtype === 'float16' ? C.fromData(C.f32ToF16(next), [32, 16], 'float16') : C.tensor(next, [32, 16]));
            const want = await reference(w, xs, dtype);
            const x = C.tensor(xs, [2, 3, 16]);
            const y = b.forward(x);
            expectClose((await y.data()) as Float32Array, want, 5e-5, 1e-4, `${name} ${dtype} step ${step}`);
            C.dispose([x, y]);
          }
          // one graph with the weight as an input serves every value
          expect(compiles).toBe(1);
          b.dispose();
        }
      } finally {
        off();
      }
    });
  },
  { backends: ['ort-cpu'] },
);

describe('ort-cpu under Bun', () => {
  const root = new URL('../../../', import.meta.url).pathname;
  const bun = `${root}node_modules/.bin/bun`;
  // CI builds before it tests (npm test) and installs bun (a devDependency)
  const notBuilt = skipUnless(existsSync(`${root}packages/core/dist/index.js`) && existsSync(bun), 'ort-cpu under Bun: build first (npm run build) and install bun (a devDependency)', { ciRequired: true });
  test.skipIf(notBuilt)('Bun loads onnxruntime-node and gets the same numbers as Node', async () => {
    const out = execFileSync(bun, [`${root}packages/core/test/ort-bun-script.ts`], { encoding: 'utf8', cwd: root });
    const got = JSON.parse(out.trim().split('\n').pop()!) as { backend: string; y: number[] };
    expect(got.backend).toBe('ort-cpu');
    const silu = (v: number): number => v / (1 + Math.exp(-v));
    const want = [4, 5, 10, 11].map((v) => silu(v) + 1);
    got.y.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThan(1e-5));
  });
});

forEachBackend(
  (name) => {
    test('16-bit host tensors made per call (embedding rows, LM-head blocks) feed the graph: no recompile per call', async () => {
      let compiles = 0;
      const off = C.onCompile((e) => {
        if (e.phase === 'end' && e.backend === name && e.label === 'rows') compiles++;
      });
      try {
        for (let call = 0; call < 3; call++) {
          const rows = C.f32ToF16(Float32Array.from({ length: 12 }, (_, i) => i * 0.5 + call));
          const t = C.fromData(rows, [3, 4], 'float16');
          const y = C.compile('rows', (t: C.Tensor) => C.mul(C.cast(t, 'float32'), 2))(t);
          expect(Array.from(await y.data())).toEqual(Array.from({ length: 12 }, (_, i) => 2 * (i * 0.5 + call)));
          C.dispose([t, y]);
        }
        expect(compiles).toBe(1);
      } finally {
        off();
      }
    });
  },
  { backends: ['ort-cpu', 'ort-webgpu'] },
);
