import { describe, expect, test } from 'vitest';
import * as C from '@sdxs/core';
import { forEachBackend } from '@sdxs/core/testing';

// Seeds are drawn on the host, so a seed gives bit-identical tensors on every backend.
const reference = (() => {
  const g = new C.RandomGenerator(2024);
  const normal = g.fillNormal(new Float32Array(257));
  const uniform = g.fillUniform(new Float32Array(64), -1, 1);
  return { normal, uniform };
})();

describe('seeded random tensors', () => {
  forEachBackend((name) => {
    test(`${name}: the same seed gives the same values as the host generator`, async () => {
      const g = new C.RandomGenerator(2024);
      const n = C.randomNormal([257], { generator: g });
      const u = C.randomUniform([8, 8], { generator: g, low: -1, high: 1 });
      expect(Array.from(await n.data())).toEqual(Array.from(reference.normal));
      expect(Array.from(await u.data())).toEqual(Array.from(reference.uniform));
      C.dispose([n, u]);
    });
  });
});
