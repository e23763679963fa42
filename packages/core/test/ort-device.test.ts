/**
 * Compiled backends on a GPU provider: outputs of one compiled region stay in device memory and feed the
 * next graph as they are (no host round trip between regions or sampler steps); only a read downloads.
 * And float16 compute: the backend reports it, bad requests are refused with the reason.
 */
import { describe, expect, test } from 'vitest';
import * as C from '@sdxs/core';
import type { LazyValue } from '../src/graph/lazy-value.js';
import { planSegment } from '../src/graph/segment.js';
import { lowerSegment } from '../src/onnx/lower.js';
import { preferSoftwareVulkan, skipUnlessBackend } from '@sdxs/core/testing';

preferSoftwareVulkan();
const noWebgpu = await skipUnlessBackend('ort-webgpu', 'ort-webgpu device-output tests');

describe.skipIf(noWebgpu)('ort-webgpu keeps compiled outputs on the device', () => {
  test('a chain of compiled regions: intermediates stay in GPU buffers, the result matches cpu, only the read downloads', async () => {
    const run = (x: C.Tensor): { mid: C.Tensor; out: C.Tensor } => {
      const mid = C.compile('a', (x: C.Tensor) => C.add(C.mul(x, 2), 1))(x);
      const out = C.compile('b', (mid: C.Tensor) => C.exp(C.mul(mid, 0.1)))(mid);
      return { mid, out };
    };
    const data = Float32Array.from({ length: 24 }, (_, i) => i / 7 - 1);
    await C.setBackend('cpu');
    const xc = C.tensor(data, [2, 3, 4]);
    const ref = run(xc);
    const expected = (await ref.out.data()) as Float32Array;
    C.dispose([xc, ref.mid, ref.out]);

    const b = await C.setBackend('ort-webgpu');
    const x = C.tensor(data, [2, 3, 4]);
    const { mid, out } = run(x);
    await C.realize(out);
    const m = mid.handle as LazyValue;
    const o = out.handle as LazyValue;
    expect(b.name).toBe('ort-webgpu');
    // both region outputs were left in device memory: no host copy exists yet
    expect(m.device).not.toBeNull();
    expect(m.data).toBeNull();
    expect(o.device).not.toBeNull();
    expect(o.data).toBeNull();
    const got = (await out.data()) as Float32Array;
    for (let i = 0; i < got.length; i++) expect(Math.abs(got[i]! - expected[i]!)).toBeLessThan(1e-5);
    // the read downloaded the result; the intermediate was never brought to the host
    expect(o.data).not.toBeNull();
    expect(m.data).toBeNull();
    // a device value feeds eager ops too (they are recorded into a graph that takes it as an input)
    expect(Array.from((await C.sub(mid, 1).data()) as Float32Array).slice(0, 3)).toEqual(Array.from(data.slice(0, 3), (v) => Math.fround(Math.fround(v * 2) + 1) - 1));
    C.dispose([x, mid, out]);
  });
});

describe('compute precision', () => {
  test('ort-cpu computes in float16 when asked, float32 by default; eager backends refuse float16', async () => {
    const half = await C.setBackend('ort-cpu', { compute: 'float16' });
    expect(C.computeOf(half)).toBe('float16');
    const full = await C.setBackend('ort-cpu');
    expect(C.computeOf(full)).toBe('float32');
    expect(half).not.toBe(full);
    await expect(C.setBackend('cpu', { compute: 'float16' })).rejects.toThrow(/computes in float32 only/);
    await expect(C.setBackend('ort-cpu', { compute: 'bfloat8' as 'float16' })).rejects.toThrow(/compute must be one of auto, float16, float32/);
  });

  test('a float16 graph holds its weights in 16 bits and its outputs stay float32 (the CPU run is a test mode)', async () => {
    // ONNX Runtime's CPU provider runs float16 nodes by casting around them and drops float32 → float16 →
    // float32 round trips, so the CPU does not show float16's rounding everywhere a GPU would; what it does
    // test is the graph: every weight in float16, outputs float32, and the math within the budget
    await C.setBackend('ort-cpu', { compute: 'float16' });
    const lin = new C.nn.Linear(64, 32, false);
    lin.loadStateDict(new Map([['weight', C.tensor(Float32Array.from({ length: 32 * 64 }, (_, i) => Math.sin(i)), [32, 64])]]));
    const x = C.tensor(Float32Array.from({ length: 2 * 64 }, (_, i) => Math.cos(i)), [2, 64]);
    const y = lin.forward(x);
    const seg = planSegment([y.handle as LazyValue], 'probe');
    expect(seg.constants.length).toBe(1);
    const half = lowerSegment(seg, { compute: 'float16' });
    const full = lowerSegment(seg, { compute: 'float32' });
    const bytes = (m: typeof half): number => m.externalData.reduce((n, e) => n + e.data.byteLength, 0);
    expect(bytes(full)).toBe(32 * 64 * 4);
    expect(bytes(half)).toBe(32 * 64 * 2);
    const got = (await y.data()) as Float32Array;
    expect(got).toBeInstanceOf(Float32Array);
    await C.setBackend('cpu');
    const xc = C.tensor(Float32Array.from({ length: 2 * 64 }, (_, i) => Math.cos(i)), [2, 64]);
    const wc = C.tensor(Float32Array.from({ length: 32 * 64 }, (_, i) => Math.sin(i)), [32, 64]);
    const ref = (await C.matmul(xc, wc, false, true).data()) as Float32Array;
    let err = 0;
    let max = 0;
    for (let i = 0; i < ref.length; i++) {
      err = Math.max(err, Math.abs(got[i]! - ref[i]!));
      max = Math.max(max, Math.abs(ref[i]!));
    }
    expect(err / max).toBeLessThan(1e-2);
    expect(err).toBeGreaterThan(0);
    C.dispose([x, y, xc, wc]);
    lin.dispose();
  });

  test('a float32 weight beyond float16 range is refused at load naming the tensor', async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const dir = mkdtempSync(path.join(tmpdir(), 'sdxs-f16-'));
    const file = path.join(dir, 'w.safetensors');
    await C.saveSafetensors(file, { 'proj.weight': { dtype: 'F32', shape: [2, 2], data: new Float32Array([1, 2, 1e6, 4]) } });
    class M extends C.Module {
      readonly proj = new C.nn.Linear(2, 2, false);
    }
    await C.setBackend('ort-cpu', { compute: 'float16' });
    const f = await C.loadSafetensors(file);
    await expect(C.loadWeights(new M(), f)).rejects.toThrow(/w\.safetensors.*proj\.weight.*1000000.*beyond float16's range/);
    await f.close();
  });
});
