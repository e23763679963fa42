import { afterAll, describe, expect, test } from 'vitest';
import * as C from '@sdxs/core';
import { expectClose, forEachBackend } from '@sdxs/core/testing';

// The tfjs backends compute attention in query blocks when the score matrix would be large; force tiny
// blocks and compare with the cpu oracle (row-varying mask, causal, uneven last block).
const saved = C.tfjsLimits.attentionScores;
afterAll(() => {
  C.tfjsLimits.attentionScores = saved;
});

async function onCpu(fn: () => C.Tensor): Promise<Float32Array> {
  const prev = C.getBackend();
  await C.setBackend('cpu');
  const t = fn();
  const d = (await t.data()) as Float32Array;
  t.dispose();
  await C.setBackend(prev);
  return d;
}

describe('attention in query blocks', () => {
  // cpu is the oracle and has no blocked path: only the tfjs backends
  forEachBackend((name) => {
    test(`${name}: blocked attention equals the cpu oracle`, async () => {
      await C.setBackend(name);
      C.tfjsLimits.attentionScores = 2 * 3 * 5 * 7; // blocks of 5 query rows of 7 keys: 11 rows → 5 + 5 + 1
      const shapes = { q: [2, 3, 11, 4], k: [2, 3, 7, 4], mask: [2, 1, 11, 7] };
      const make = (): [C.Tensor, C.Tensor, C.Tensor, C.Tensor] => [
        C.randomNormal(shapes.q, { seed: 1 }),
        C.randomNormal(shapes.k, { seed: 2 }),
        C.randomNormal(shapes.k, { seed: 3 }),
        C.mul(C.randomUniform(shapes.mask, { seed: 4 }), -5),
      ];
      for (const causal of [false, true]) {
        const run = (): C.Tensor =>
          C.tidy(() => {
            const [q, k, v, m] = make();
            return C.scaledDotProductAttention(q, k, v, { mask: m, causal });
          });
        const expected = await onCpu(run);
        const got = run();
        expectClose((await got.data()) as Float32Array, expected, 5e-5, 1e-4, `causal=${causal}`);
        got.dispose();
      }
      C.tfjsLimits.attentionScores = saved;
    });
  }, { backends: ['tfjs-cpu', 'tfjs-wasm', 'tfjs-webgpu'] });
});
