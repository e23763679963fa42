import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as C from '@sdxs/core';
import { expectClose, maxAbsDiff } from '@sdxs/core/testing';
import { Qwen35ForCausalLM } from '../src/index.js';
import { argmaxRows, sampleFromLogits } from '../src/model/sampling.js';
import { MODEL_CASES, caseDir, skipWithoutCase } from './qwen-fixtures.js';

beforeAll(async () => {
  await C.setBackend('cpu');
});

describe.each(MODEL_CASES.filter((n) => !skipWithoutCase(n)))('%s: cached decoding', (name) => {
  let lm: Qwen35ForCausalLM;
  beforeAll(async () => {
    lm = await Qwen35ForCausalLM.fromPretrained(caseDir(name));
  });
  afterAll(() => lm?.dispose());
  const prompt = [5, 17, 250, 3, 99, 42, 7];

  it('incremental decoding equals a full re-run of the sequence', async () => {
    const steps: Float32Array[] = [];
    const ids = await lm.generate(prompt, {
      maxNewTokens: 10,
      eosTokenIds: [],
      onLogits: async (l) => void steps.push((await l.data()) as Float32Array),
    });
    expect(ids.length).toBe(10);
    const full = lm.forward([[...prompt, ...ids]]);
    const all = (await full.logits.data()) as Float32Array;
    full.logits.dispose();
    C.dispose(full);
    const v = lm.config.vocabSize;
    for (let i = 0; i < ids.length; i++) {
      const pos = prompt.length - 1 + i;
      expectClose(steps[i]!, all.subarray(pos * v, (pos + 1) * v), 2e-4, 1e-4, `step ${i}`);
    }
  });

  it('a multi-token forward on an existing cache equals one prefill', async () => {
    const seq = [...prompt, 11, 12, 13, 14, 15, 16, 17, 18, 19];
    const before = C.memory().numTensors;
    const cache = lm.createCache();
    const a = lm.forward([seq.slice(0, 5)], null, { cache });
    const b = lm.forward([seq.slice(5)], null, { cache });
    expect(cache.pastLength).toBe(seq.length);
    const ref = lm.forward([seq]);
    const v = lm.config.vocabSize;
    const whole = (await ref.logits.data()) as Float32Array;
    expect(maxAbsDiff((await a.logits.data()) as Float32Array, whole.subarray(0, 5 * v))).toBeLessThan(2e-4);
    expect(maxAbsDiff((await b.logits.data()) as Float32Array, whole.subarray(5 * v))).toBeLessThan(2e-4);
    C.dispose([a, b, ref]);
    cache.dispose();
    expect(C.memory().numTensors).toBe(before);
  });

  it('sampling: seeded, reproducible, streams, stops on eos, aborts', async () => {
    const opts = { maxNewTokens: 8, doSample: true, temperature: 0.7, topK: 20, topP: 0.95, eosTokenIds: [] as number[] };
    const a = await lm.generate(prompt, { ...opts, seed: 123 });
    const streamed: number[] = [];
    const b = await lm.generate(prompt, { ...opts, seed: 123, onToken: (id) => streamed.push(id) });
    expect(b).toEqual(a);
    expect(streamed).toEqual(a);
    const stopAt = a[2]!;
    const c = await lm.generate(prompt, { ...opts, seed: 123, eosTokenIds: [stopAt] });
    expect(c).toEqual(a.slice(0, a.indexOf(stopAt) + 1));
    const ctl = new AbortController();
    const before = C.memory().numTensors;
    await expect(lm.generate(prompt, { ...opts, seed: 1, onToken: (_id, i) => i === 1 && ctl.abort(), signal: ctl.signal })).rejects.toThrow(C.AbortError);
    expect(C.memory().numTensors).toBe(before);
    const greedy = await lm.generate(prompt, { maxNewTokens: 8, eosTokenIds: [] });
    expect(await lm.generate(prompt, { ...opts, topK: 1, seed: 9 })).toEqual(greedy);
  });
});

describe('sampling helpers', () => {
  it('argmax takes the first maximum on the device', async () => {
    const l = C.tensor([1, 5, 5, 2, 0, -1, 3, 3], [2, 4]);
    const am = argmaxRows(l);
    expect(Array.from(await am.data())).toEqual([1, 2]);
    C.dispose([l, am]);
  });
  it('top-p keeps the smallest nucleus and top-k the k best', () => {
    const logits = Float32Array.from([Math.log(0.5), Math.log(0.3), Math.log(0.15), Math.log(0.05)]);
    const rng = new C.RandomGenerator(4);
    const seen = new Set<number>();
    for (let i = 0; i < 400; i++) seen.add(sampleFromLogits(logits, { topP: 0.75 }, rng));
    expect([...seen].sort()).toEqual([0, 1]);
    seen.clear();
    for (let i = 0; i < 400; i++) seen.add(sampleFromLogits(logits, { topK: 3 }, rng));
    expect([...seen].sort()).toEqual([0, 1, 2]);
  });
});
