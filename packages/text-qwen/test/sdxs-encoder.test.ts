import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as C from '@sdxs/core';
import { expectClose } from '@sdxs/core/testing';
import { QwenTokenizer, SdxsTextEncoder } from '../src/index.js';
import { FoldedTextModel } from './mapped-models.js';
import { TOKENIZER_DIR, caseDir, skipWithoutCaseAndTokenizer } from './qwen-fixtures.js';

const NAME = 'qwen35-tiny-tied';

describe.skipIf(skipWithoutCaseAndTokenizer(NAME))('SdxsTextEncoder (fixture model + Qwen3 fixture tokenizer)', () => {
  let enc: SdxsTextEncoder;
  let tok: QwenTokenizer;
  beforeAll(async () => {
    await C.setBackend('cpu');
    tok = await QwenTokenizer.fromPretrained(TOKENIZER_DIR);
    enc = new SdxsTextEncoder(await FoldedTextModel.load(caseDir(NAME)), tok);
  });
  afterAll(() => enc?.dispose());

  it('an image prompt without a loaded vision tower is refused with the way to load it', () => {
    expect(() => enc.encode({ image: { data: new Uint8Array(64 * 64 * 3), width: 64, height: 64 } })).toThrow(/vision tower is not loaded.*loadVision/);
  });

  it('loadVision on a checkpoint without model.visual.* names the file', async () => {
    await expect(enc.loadVision(caseDir(NAME))).rejects.toThrow(/config\.json: 'vision_config' is missing|model\.safetensors.*no 'model\.visual\.\*' tensors/);
  });

  it('chat-wraps each prompt with the generation prompt and pads to 248', () => {
    const batch = enc.tokenize(['a red fox in the snow', '']);
    expect(batch.inputIds.map((r) => r.length)).toEqual([248, 248]);
    const n = batch.attentionMask[0]!.reduce((a, b) => a + b, 0);
    const text = tok.decode(batch.inputIds[0]!.slice(0, n));
    expect(text).toBe(tok.applyChatTemplate([{ role: 'user', content: 'a red fox in the snow' }], { addGenerationPrompt: true }));
    expect(text.startsWith('<|im_start|>user\na red fox in the snow<|im_end|>')).toBe(true);
    expect(batch.attentionMask[0]!.slice(n).every((v) => v === 0)).toBe(true);
    const long = enc.tokenize(['word '.repeat(400)]);
    expect(long.attentionMask[0]!.every((v) => v === 1)).toBe(true);
  });

  it('states [B, 249, D] = [last real token of hidden_states[-2], hidden_states[-2]], mask [1, mask]', async () => {
    const prompts = ['a red fox in the snow', 'portrait of an old sailor, oil painting, dramatic light'];
    const before = C.memory().numTensors;
    const cond = enc.encode(prompts);
    const d = enc.model.config.hiddenSize;
    expect(cond.states.shape).toEqual([2, 249, d]);
    expect(cond.mask.shape).toEqual([2, 249]);
    const batch = enc.tokenize(prompts);
    const mask = Array.from((await cond.mask.data()) as Float32Array);
    for (let b = 0; b < 2; b++) expect(mask.slice(b * 249, (b + 1) * 249)).toEqual([1, ...batch.attentionMask[b]!]);

    const L = enc.model.config.numHiddenLayers;
    const ref = enc.model.forward(batch.inputIds, batch.attentionMask, { outputHiddenStates: true });
    const hs = (await ref.hiddenStates![L - 1]!.data()) as Float32Array;
    C.dispose(ref);
    const states = (await cond.states.data()) as Float32Array;
    for (let b = 0; b < 2; b++) {
      const n = batch.attentionMask[b]!.reduce((a, v) => a + v, 0);
      const rowRef = hs.subarray(b * 248 * d, (b + 1) * 248 * d);
      const row = states.subarray(b * 249 * d, (b + 1) * 249 * d);
      expectClose(row.subarray(0, d), rowRef.subarray((n - 1) * d, n * d), 1e-6, 0, `pooled ${b}`);
      expectClose(row.subarray(d), rowRef, 1e-6, 0, `states ${b}`);
    }
    C.dispose(cond);
    expect(C.memory().numTensors).toBe(before);
  });

  it('empty-prompt conditioning and negative+positive batching', async () => {
    const empty = enc.encodeEmpty(2);
    const single = enc.encode('');
    const e = (await empty.states.data()) as Float32Array;
    const s = (await single.states.data()) as Float32Array;
    expectClose(e.subarray(0, s.length), s, 1e-5, 1e-5, 'empty row 0');
    expectClose(e.subarray(s.length), s, 1e-5, 1e-5, 'empty row 1');

    const cfg = enc.encodeWithNegative('a lighthouse at dusk', 'blurry');
    expect(cfg.states.shape[0]).toBe(2);
    const neg = enc.encode('blurry');
    const pos = enc.encode('a lighthouse at dusk');
    const both = (await cfg.states.data()) as Float32Array;
    const n = (await neg.states.data()) as Float32Array;
    expectClose(both.subarray(0, n.length), n, 1e-5, 1e-5, 'negative first');
    expectClose(both.subarray(n.length), (await pos.states.data()) as Float32Array, 1e-5, 1e-5, 'positive second');
    const uncond = enc.encodeWithNegative(['x', 'y']);
    expect(uncond.states.shape[0]).toBe(4);
    C.dispose([empty, single, cfg, neg, pos, uncond]);
    expect(() => enc.encodeWithNegative(['a', 'b', 'c'], ['n1', 'n2'])).toThrow(C.InputError);
  });
});
