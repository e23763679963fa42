import { beforeAll, describe, expect, it } from 'vitest';
import * as C from '@sdxs/core';
import { maxAbsDiff } from '@sdxs/core/testing';
import { recurrentDeltaRule } from '../src/model/delta-rule.js';
import { chunkedDeltaRule, invertUnitLower } from '../src/model/delta-rule-chunked.js';

beforeAll(async () => {
  await C.setBackend('cpu');
});

describe('gated delta rule', () => {
  it('block-doubling inverse of unit lower-triangular matrices', async () => {
    const c = 16;
    const g = new C.RandomGenerator(5);
    const a = new Float32Array(2 * c * c);
    for (let m = 0; m < 2; m++) for (let i = 0; i < c; i++) for (let j = 0; j <= i; j++) a[m * c * c + i * c + j] = i === j ? 1 : 0.3 * g.normal();
    const t = C.tensor(a, [2, c, c]);
    const inv = invertUnitLower(t);
    const prod = C.matmul(t, inv);
    const eye = new Float32Array(2 * c * c);
    for (let m = 0; m < 2; m++) for (let i = 0; i < c; i++) eye[m * c * c + i * c + i] = 1;
    expect(maxAbsDiff((await prod.data()) as Float32Array, eye)).toBeLessThan(1e-5);
    C.dispose([t, inv, prod]);
  });

  it('chunked form equals the recurrence across chunk boundaries, padding and an initial state', async () => {
    const [b, h, s, dk, dv] = [1, 3, 150, 8, 6];
    const before = C.memory().numTensors;
    const r = C.tidy(() => {
      const q = C.l2Normalize(C.randomNormal([b, h, s, dk], { seed: 1 }));
      const k = C.l2Normalize(C.randomNormal([b, h, s, dk], { seed: 2 }));
      const v = C.randomNormal([b, h, s, dv], { seed: 3 });
      const g = C.mul(C.randomUniform([b, h, s], { seed: 4 }), -2);
      const beta = C.randomUniform([b, h, s], { seed: 5 });
      const s0 = C.randomNormal([b, h, dk, dv], { seed: 6, std: 0.5 });
      const rec = recurrentDeltaRule(q, k, v, g, beta, s0);
      const chk = chunkedDeltaRule(q, k, v, g, beta, s0, 64);
      return { rec, chk };
    });
    expect(maxAbsDiff((await r.chk.out.data()) as Float32Array, (await r.rec.out.data()) as Float32Array)).toBeLessThan(1e-4);
    expect(maxAbsDiff((await r.chk.state.data()) as Float32Array, (await r.rec.state.data()) as Float32Array)).toBeLessThan(1e-4);
    C.dispose(r);
    expect(C.memory().numTensors).toBe(before);
  });
});
