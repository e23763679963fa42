import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as C from '@sdxs/core';
import { QwenTokenizer, SDXS_REFINER_INSTRUCTION, refinePrompt, refinerPromptIds } from '../src/index.js';
import { FoldedCausalLM } from './mapped-models.js';
import { TOKENIZER_DIR, caseDir, skipWithoutCaseAndTokenizer } from './qwen-fixtures.js';

const NAME = 'qwen35-tiny-tied';

describe.skipIf(skipWithoutCaseAndTokenizer(NAME))('refinePrompt (fixture model + Qwen3 fixture tokenizer)', () => {
  let lm: FoldedCausalLM;
  let tok: QwenTokenizer;
  beforeAll(async () => {
    await C.setBackend('cpu');
    tok = await QwenTokenizer.fromPretrained(TOKENIZER_DIR);
    lm = await FoldedCausalLM.load(caseDir(NAME));
  });
  afterAll(() => lm?.dispose());

  it('prompts with the SDXS instruction in one user message plus the generation prompt', () => {
    expect(SDXS_REFINER_INSTRUCTION).toMatch(/three-sentence output\. \*\*The primary subject/);
    expect(SDXS_REFINER_INSTRUCTION).toMatch(/no commentary\.\nDon't use cliches like warm,soft,vibrant, wildflowers\. Be creative\. User input prompt: $/);
    const text = tok.decode(refinerPromptIds('a cat', tok));
    expect(text).toBe(`<|im_start|>user\n${SDXS_REFINER_INSTRUCTION}a cat<|im_end|>\n<|im_start|>assistant\n`);
    expect(tok.decode(refinerPromptIds('a cat', tok, 'Rewrite: '))).toContain('user\nRewrite: a cat<|im_end|>');
  });

  it('decodes only the new tokens, special tokens skipped', async () => {
    const ids = refinerPromptIds('a cat', tok);
    const greedy = await lm.generate(ids, { maxNewTokens: 6, eosTokenIds: [tok.eosTokenId, tok.imEndTokenId!] });
    const text = await refinePrompt('a cat', { model: lm, tokenizer: tok, doSample: false, maxNewTokens: 6 });
    expect(text).toBe(tok.decode(greedy, { skipSpecialTokens: true }).trim());
    expect(text).not.toContain('User input prompt');
  });

  it('samples reproducibly with a seed and streams text', async () => {
    const streamed: string[] = [];
    const a = await refinePrompt('a cat', { model: lm, tokenizer: tok, seed: 7, maxNewTokens: 5, onToken: (_id, t) => streamed.push(t) });
    const b = await refinePrompt('a cat', { model: lm, tokenizer: tok, seed: 7, maxNewTokens: 5 });
    expect(a).toBe(b);
    expect(streamed.length).toBeGreaterThan(0);
    expect(streamed.length).toBeLessThanOrEqual(5);
    expect(streamed[streamed.length - 1]!.trim()).toBe(a);
  });
});
