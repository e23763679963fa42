import { beforeAll, describe, expect, test, vi } from 'vitest';
import * as C from '@sdxs/core';

beforeAll(async () => {
  await C.setBackend('cpu');
});

describe('tensor and engine', () => {
  test('tensor() checks the shape against the values', () => {
    expect(() => C.tensor([1, 2, 3], [2, 2])).toThrow(C.ShapeError);
    const t = C.tensor([1, 2, 3, 4], [2, 2]);
    expect(t.shape).toEqual([2, 2]);
    expect(t.dtype).toBe('float32');
    t.dispose();
  });

  test('tidy frees everything but the result, also nested', () => {
    const before = C.memory().numTensors;
    const kept = C.tidy(() => {
      const a = C.ones([4, 4]);
      const inner = C.tidy(() => C.add(C.mul(a, 2), 1));
      return C.sum(inner);
    });
    expect(C.memory().numTensors).toBe(before + 1);
    expect(kept.dataSync()[0]).toBe(48);
    kept.dispose();
    expect(C.memory().numTensors).toBe(before);
  });

  test('using a disposed tensor is a typed error', () => {
    const t = C.ones([2]);
    t.dispose();
    expect(() => C.add(t, 1)).toThrow(/disposed/);
  });

  test('memory() reports bytes per backend, 16-bit storage on the host', () => {
    const before = C.memory();
    const a = C.zeros([10, 10]);
    const h = C.tensor([1, 2, 3, 4], [4], 'bfloat16');
    const m = C.memory();
    expect(m.numBytes - before.numBytes).toBe(400 + 8);
    expect(m.byBackend.host?.numBytes).toBeGreaterThanOrEqual(8);
    a.dispose();
    h.dispose();
  });

  test('storage dtypes cast exactly to float32 and refuse compute', async () => {
    const h = C.tensor([1.5, -2, 65504, 1e-7], [4], 'float16');
    expect(() => C.add(h, 1)).toThrow(/cast/);
    const f = C.cast(h, 'float32');
    const d = await f.data();
    expect(Array.from(d.slice(0, 3))).toEqual([1.5, -2, 65504]);
    const back = await C.toStorage(f, 'float16');
    expect(Array.from(await back.data())).toEqual(Array.from(await h.data()));
    C.dispose([h, f, back]);
  });

  test('seeded random numbers are reproducible and well distributed', async () => {
    const a = Array.from(await C.randomNormal([10000], { seed: 7 }).data());
    const b = await C.randomNormal([10000], { seed: 7 }).data();
    expect(a).toEqual(Array.from(b));
    const mean = a.reduce((s, v) => s + v, 0) / a.length;
    const variance = a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(variance - 1)).toBeLessThan(0.05);
    const g = new C.RandomGenerator(3);
    g.normal();
    const state = g.getState();
    const x = [g.normal(), g.uniform()];
    g.setState(state);
    expect([g.normal(), g.uniform()]).toEqual(x);
  });

  test('unknown backend names list the registered ones', async () => {
    await expect(C.setBackend('nope')).rejects.toThrow(/registered: .*cpu/);
  });

  test('broadcasting follows NumPy', async () => {
    const a = C.tensor([1, 2, 3], [3, 1]);
    const b = C.tensor([10, 20], [1, 2]);
    expect(Array.from(await C.add(a, b).data())).toEqual([11, 21, 12, 22, 13, 23]);
    expect(() => C.add(C.ones([2, 3]), C.ones([3, 2]))).toThrow(C.ShapeError);
  });
});

describe('autograd', () => {
  test('valueAndGrad of a small MLP matches the closed form and frees intermediates', async () => {
    const x = C.tensor([1, 2], [1, 2]);
    const w = C.tensor([0.5, -1, 2, 0.25], [2, 2]);
    const before = C.memory().numTensors;
    const { value, grads } = C.valueAndGrad(() => C.sum(C.square(C.matmul(x, w))), [w]);
    // y = x w = [4.5, -0.5]; dL/dw = xᵀ (2y)
    expect(value.dataSync()[0]).toBeCloseTo(20.5, 5);
    expect(Array.from(grads[0]!.dataSync())).toEqual([9, -1, 18, -2]);
    expect(C.memory().numTensors).toBe(before + 2);
    C.dispose([value, grads]);
  });

  test('a parameter the loss ignores gets zeros; noGrad stops the flow', () => {
    const a = C.tensor([1, 2]);
    const b = C.tensor([3, 4]);
    const { value, grads } = C.valueAndGrad(() => C.add(C.sum(C.mul(a, a)), C.noGrad(() => C.sum(C.mul(b, b)))), [a, b]);
    expect(Array.from(grads[0]!.dataSync())).toEqual([2, 4]);
    expect(Array.from(grads[1]!.dataSync())).toEqual([0, 0]);
    C.dispose([value, grads, a, b]);
  });

  test('a non-scalar loss is refused', () => {
    const a = C.tensor([1, 2]);
    expect(() => C.valueAndGrad(() => C.mul(a, 2), [a])).toThrow(/scalar/);
  });
});

describe('automatic backend choice', () => {
  test('prefers the highest priority backend that starts, passing over software emulation and failures', async () => {
    const cpu = C.createCpuBackend();
    C.registerBackend('test-broken', async () => {
      throw new Error('no device');
    }, 1000);
    C.registerBackend('test-software', async () => ({ ...cpu, name: 'test-software', software: true }) as C.Backend, 900);
    C.registerBackend('test-fast', async () => ({ ...cpu, name: 'test-fast' }) as C.Backend, 800);
    expect((await C.setBackend('auto')).name).toBe('test-fast');
    expect(await C.backendFailure('test-broken')).toMatch(/no device/);
    await C.setBackend('cpu');
  });
});

describe('the automatic order', () => {
  test('by priority, backends on a software device after all the others; what the caller knows overrides the hints', () => {
    const order = C.autoBackendOrder();
    const byPriority = C.listBackends().filter((n) => order.includes(n));
    expect([...order].sort()).toEqual([...byPriority].sort());
    const gpu = (n: string): boolean => n.endsWith('webgpu');
    const soft = C.autoBackendOrder(gpu);
    expect(soft.filter((n) => !gpu(n))).toEqual(C.autoBackendOrder(() => false).filter((n) => !gpu(n)));
    expect(soft.slice(-soft.filter(gpu).length)).toEqual(C.autoBackendOrder(() => false).filter(gpu));
    expect(C.autoBackendOrder(() => false)).toEqual(byPriority);
  });
});

describe('quiet automatic backend choice', () => {
  test('probing prints nothing; what each backend printed and why it was skipped is kept for probeReport()', async () => {
    const cpu = C.createCpuBackend();
    C.registerBackend('test-noisy', async () => {
      console.warn('Initialization of backend webgpu failed');
      console.error(new TypeError("Cannot read properties of null (reading 'features')"));
      throw new Error('no adapter');
    }, 2000);
    C.registerBackend('test-ok', async () => ({ ...cpu, name: 'test-ok' }) as C.Backend, 1900);
    const printed: unknown[] = [];
    const spies = (['log', 'warn', 'error', 'info'] as const).map((m) => vi.spyOn(console, m).mockImplementation((...a: unknown[]) => void printed.push(a)));
    try {
      expect((await C.setBackend('auto')).name).toBe('test-ok');
    } finally {
      for (const s of spies) s.mockRestore();
    }
    expect(printed).toEqual([]);
    const report = C.probeReport();
    const noisy = report.find((p) => p.name === 'test-noisy')!;
    expect(noisy).toMatchObject({ status: 'failed' });
    expect(noisy.reason).toMatch(/no adapter/);
    expect(noisy.log.join('\n')).toMatch(/features/);
    expect(report.find((p) => p.name === 'test-ok')!.status).toBe('chosen');
    await C.setBackend('cpu');
  });
});
