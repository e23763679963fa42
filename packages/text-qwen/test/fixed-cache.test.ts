/**
 * The fixed-capacity KV cache (what generation uses on the graph backends, so that every decoding step is the
 * same compiled graph) gives the logits of the growing cache, step by step, on the reference cpu backend.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as C from '@sdxs/core';
import { expectClose } from '@sdxs/core/testing';
import { Qwen35ForCausalLM } from '../src/index.js';
import { MODEL_CASES, caseDir, skipWithoutCase } from './qwen-fixtures.js';

const name = MODEL_CASES[0]!;

describe.skipIf(skipWithoutCase(name))(`fixed-capacity cache (${name})`, () => {
  let lm: Qwen35ForCausalLM;
  beforeAll(async () => {
    await C.setBackend('cpu');
    lm = await Qwen35ForCausalLM.fromPretrained(caseDir(name));
  });
  afterAll(() => lm?.dispose());

  async function stepLogits(capacity: number | null): Promise<Float32Array[]> {
    const cache = lm.createCache(capacity);
    const out: Float32Array[] = [];
    try {
      const feeds = [[5, 17, 42, 7, 99], [3], [250], [11, 12], [1]];
      for (const ids of feeds) {
        const { logits } = lm.forward([ids], null, { cache });
        out.push((await logits.data()) as Float32Array);
        logits.dispose();
      }
      // the full-attention layers' buffers have the fixed length (or the tokens seen, when growing)
      const kv = cache.layers.filter((l): l is { keys: C.Tensor; values: C.Tensor } => !!l && 'keys' in l);
      expect(kv.length).toBeGreaterThan(0);
      for (const l of kv) expect(l.keys.shape[2]).toBe(capacity ?? 10);
    } finally {
      cache.dispose();
    }
    return out;
  }

  it('matches the growing cache at every step, and refuses to overflow', async () => {
    const want = await stepLogits(null);
    const got = await stepLogits(16);
    expect(got.length).toBe(want.length);
    got.forEach((g, i) => expectClose(g, want[i]!, 2e-5, 1e-4, `step ${i}`));
    const cache = lm.createCache(4);
    expect(() => lm.forward([[1, 2, 3, 4, 5]], null, { cache })).toThrow(/holds 4 positions/);
    cache.dispose();
  });
});
