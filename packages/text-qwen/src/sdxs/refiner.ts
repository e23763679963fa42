/**
 * SDXS prompt refiner: the text model rewrites a prompt into a detailed three-sentence one. The instruction is
 * prepended to the user's text in a single user message (no system role), the chat template adds the
 * generation prompt, the model samples (temperature 0.7, up to 248 new tokens), and only the new tokens are
 * decoded, special tokens skipped.
 */
import * as C from '@sdxs/core';
import { QwenTokenizer } from '../tokenizer.js';
import { Qwen35ForCausalLM } from '../model/causal-lm.js';
import type { Qwen35LoadOptions } from '../model/load.js';

/** The SDXS refiner instruction (as a third-party port of the pipeline reports it); the user's text follows it directly. */
export const SDXS_REFINER_INSTRUCTION =
  "You are a skilled text-to-image prompt engineer whose sole function is to transform the user's input into an " +
  'aesthetically optimized, detailed, and visually descriptive three-sentence output. **The primary subject ' +
  "(e.g., 'girl', 'dog', 'house') MUST be the main focus of the revised prompt and MUST be described in rich detail " +
  'within the first sentence or two.** Output **only** the final revised prompt, with absolutely no commentary.\n' +
  "Don't use cliches like warm,soft,vibrant, wildflowers. Be creative. User input prompt: ";

export interface RefinePromptOptions {
  model: Qwen35ForCausalLM;
  tokenizer: QwenTokenizer;
  /** Text placed before the user's prompt (default SDXS_REFINER_INSTRUCTION). */
  instruction?: string;
  /** default 0.7 */
  temperature?: number;
  /** default 248 */
  maxNewTokens?: number;
  /** default true (the pipeline samples); false gives greedy decoding */
  doSample?: boolean;
  /** top-k / top-p filters; transformers' generate would take them from generation_config.json (PromptRefiner does) */
  topK?: number;
  topP?: number;
  seed?: number;
  /** Streaming: each new token id and the text decoded so far. */
  onToken?: (id: number, textSoFar: string) => void;
  signal?: AbortSignal;
  /** Passed to the chat template (`enable_thinking`). */
  enableThinking?: boolean;
}

/** The prompt ids the refiner feeds the model. */
export function refinerPromptIds(prompt: string, tokenizer: QwenTokenizer, instruction = SDXS_REFINER_INSTRUCTION, enableThinking?: boolean): number[] {
  return tokenizer.applyChatTemplate([{ role: 'user', content: `${instruction}${prompt}` }], {
    addGenerationPrompt: true,
    enableThinking,
    tokenize: true,
  });
}

/** Rewrites `prompt` with the model; returns the decoded new tokens (special tokens skipped, trimmed). */
export async function refinePrompt(prompt: string, options: RefinePromptOptions): Promise<string> {
  const { model, tokenizer } = options;
  const ids = refinerPromptIds(prompt, tokenizer, options.instruction, options.enableThinking);
  const eos = new Set<number>([tokenizer.eosTokenId, ...model.config.eosTokenIds]);
  if (tokenizer.imEndTokenId !== undefined) eos.add(tokenizer.imEndTokenId);
  const produced: number[] = [];
  const out = await model.generate(ids, {
    maxNewTokens: options.maxNewTokens ?? 248,
    doSample: options.doSample ?? true,
    temperature: options.temperature ?? 0.7,
    topK: options.topK,
    topP: options.topP,
    seed: options.seed,
    signal: options.signal,
    eosTokenIds: [...eos],
    onToken: options.onToken
      ? (id) => {
          produced.push(id);
          options.onToken!(id, tokenizer.decode(produced, { skipSpecialTokens: true }));
        }
      : undefined,
  });
  return tokenizer.decode(out, { skipSpecialTokens: true }).trim();
}

export interface PromptRefinerLoadOptions extends Pick<Qwen35LoadOptions, 'dtype' | 'signal' | 'onProgress'> {
  /** default 'text_encoder' */
  textEncoderSubfolder?: string;
  /** default 'tokenizer' */
  tokenizerSubfolder?: string;
}

/** Model + tokenizer + sampling defaults (top_k / top_p of generation_config.json when present). */
export class PromptRefiner {
  constructor(
    readonly model: Qwen35ForCausalLM,
    readonly tokenizer: QwenTokenizer,
    readonly defaults: Partial<Pick<RefinePromptOptions, 'topK' | 'topP' | 'temperature' | 'instruction'>> = {},
  ) {}

  static async fromPretrained(source: string, options: PromptRefinerLoadOptions = {}): Promise<PromptRefiner> {
    const sub = options.textEncoderSubfolder ?? 'text_encoder';
    const model = await Qwen35ForCausalLM.fromPretrained(source, { ...options, subfolder: sub });
    const tokDir = await C.resolveModelSource(source, {
      subfolder: options.tokenizerSubfolder ?? 'tokenizer',
      files: ['tokenizer.json', 'tokenizer_config.json'],
      optionalFiles: ['chat_template.jinja', 'chat_template.json'],
      signal: options.signal,
    });
    const tokenizer = await QwenTokenizer.fromPretrained(tokDir);
    const defaults: PromptRefiner['defaults'] = {};
    const gen = await C.loadConfig(await C.resolveModelSource(source, { subfolder: sub }), undefined, 'generation_config.json').catch(() => null);
    if (gen) {
      if (typeof gen.top_k === 'number') defaults.topK = gen.top_k;
      if (typeof gen.top_p === 'number') defaults.topP = gen.top_p;
    }
    return new PromptRefiner(model, tokenizer, defaults);
  }

  refine(prompt: string, options: Omit<RefinePromptOptions, 'model' | 'tokenizer'> = {}): Promise<string> {
    return refinePrompt(prompt, { ...this.defaults, ...options, model: this.model, tokenizer: this.tokenizer });
  }

  dispose(): void {
    this.model.dispose();
  }
}
