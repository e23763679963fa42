/**
 * SDXS prompt refiner: the text model rewrites a prompt into a detailed three-sentence one. The instruction is
 * prepended to the user's text in a single user message (no system role), the chat template adds the
 * generation prompt, the model samples (temperature 0.7, up to 248 new tokens), and only the new tokens are
 * decoded, special tokens skipped.
 */
import * as C from '@sdxs/core';
import { QwenTokenizer } from '../tokenizer.js';
import { Qwen35ForCausalLM, type MultimodalPrefill } from '../model/causal-lm.js';
import type { Qwen35LoadOptions } from '../model/load.js';
import { multimodalRopeIndex } from '../vision/rope-index.js';
import { scatterImageFeatures } from '../vision/scatter.js';
import { imageMessageIds, isImagePrompt, loadSdxsVision, type ImagePrompt, type SdxsVision } from './image-prompt.js';

/** The SDXS refiner instruction (as a third-party port of the pipeline reports it); the user's text follows it directly. */
export const SDXS_REFINER_INSTRUCTION =
  "You are a skilled text-to-image prompt engineer whose sole function is to transform the user's input into an " +
  'aesthetically optimized, detailed, and visually descriptive three-sentence output. **The primary subject ' +
  "(e.g., 'girl', 'dog', 'house') MUST be the main focus of the revised prompt and MUST be described in rich detail " +
  'within the first sentence or two.** Output **only** the final revised prompt, with absolutely no commentary.\n' +
  "Don't use cliches like warm,soft,vibrant, wildflowers. Be creative. User input prompt: ";

/**
 * The instruction for an image (captioning, the way datasets are captioned): the model writes a prompt that
 * would produce the picture. Any text given with the image follows it.
 */
export const SDXS_CAPTION_INSTRUCTION =
  'You are a skilled text-to-image prompt engineer. Describe this image as an aesthetically precise, detailed and ' +
  'visually descriptive three-sentence text-to-image prompt: the main subject first and in rich detail, then the ' +
  'setting, composition, lighting and style. Output **only** the prompt, with absolutely no commentary.';

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

/**
 * Rewrites `prompt` with the model; returns the decoded new tokens (special tokens skipped, trimmed). An image
 * prompt `{ image, text? }` needs `vision`: the model then writes a prompt from the picture (the instruction
 * defaults to SDXS_CAPTION_INSTRUCTION, the text follows it).
 */
export async function refinePrompt(prompt: string | ImagePrompt, options: RefinePromptOptions & { vision?: SdxsVision | null }): Promise<string> {
  const { model, tokenizer } = options;
  if (isImagePrompt(prompt)) {
    const v = options.vision;
    if (!v) throw new C.InputError('refine with an image: the vision tower is not loaded (PromptRefiner.fromPretrained(source, { vision: true }) or loadVision())');
    const { pixelValues, imageGridThw } = v.processor.preprocess(prompt.image);
    let embeds: C.Tensor | null = null;
    try {
      const instruction = options.instruction ?? SDXS_CAPTION_INSTRUCTION;
      const ids = imageMessageIds(tokenizer, v, imageGridThw[0]!, prompt.text ? `${instruction}\n${prompt.text}` : instruction, { enableThinking: options.enableThinking });
      const positions = multimodalRopeIndex([ids], imageGridThw, v.tokens.imageTokenId, v.model.config.spatialMergeSize);
      embeds = C.tidy(() => scatterImageFeatures(model.model.embed_tokens, [ids], v.model.forward(pixelValues, imageGridThw).imageEmbeds, v.tokens.imageTokenId));
      return await generateText(ids, options, { embeds, positions, ropeDelta: positions.deltas[0]! });
    } finally {
      pixelValues.dispose();
      embeds?.dispose();
    }
  }
  const ids = refinerPromptIds(prompt, tokenizer, options.instruction, options.enableThinking);
  return generateText(ids, options);
}

async function generateText(ids: number[], options: RefinePromptOptions, multimodal?: MultimodalPrefill): Promise<string> {
  const { model, tokenizer } = options;
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
    multimodal,
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
  /** Load the vision tower too (refine from images); default false (loadVision can add it later). */
  vision?: boolean;
  /** default 'text_encoder' */
  textEncoderSubfolder?: string;
  /** default 'tokenizer' */
  tokenizerSubfolder?: string;
}

/** Model + tokenizer + sampling defaults (top_k / top_p of generation_config.json when present). */
export class PromptRefiner {
  /** The vision tower and image processor, once loaded (refine from images). */
  vision: SdxsVision | null = null;

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
      optionalFiles: ['chat_template.jinja', 'chat_template.json', 'preprocessor_config.json'],
      signal: options.signal,
    });
    const tokenizer = await QwenTokenizer.fromPretrained(tokDir);
    const defaults: PromptRefiner['defaults'] = {};
    const gen = await C.loadConfig(await C.resolveModelSource(source, { subfolder: sub }), undefined, 'generation_config.json').catch(() => null);
    if (gen) {
      if (typeof gen.top_k === 'number') defaults.topK = gen.top_k;
      if (typeof gen.top_p === 'number') defaults.topP = gen.top_p;
    }
    const refiner = new PromptRefiner(model, tokenizer, defaults);
    if (options.vision) {
      try {
        await refiner.loadVision(await C.resolveModelSource(source, { subfolder: sub }), [tokDir], options);
      } catch (e) {
        refiner.dispose();
        throw e;
      }
    }
    return refiner;
  }

  /** Loads the vision tower of the local text-encoder folder and the image processor (see loadSdxsVision). */
  async loadVision(textEncoderDir: string, processorDirs: readonly string[] = [], options: Pick<Qwen35LoadOptions, 'dtype' | 'signal' | 'onProgress'> = {}): Promise<SdxsVision> {
    this.vision ??= await loadSdxsVision(textEncoderDir, [...processorDirs, textEncoderDir], options);
    return this.vision;
  }

  /** A prompt rewritten, or (an image prompt `{ image, text? }`, vision loaded) a prompt written from a picture. */
  refine(prompt: string | ImagePrompt, options: Omit<RefinePromptOptions, 'model' | 'tokenizer'> = {}): Promise<string> {
    const defaults = isImagePrompt(prompt) ? { ...this.defaults, instruction: undefined } : this.defaults;
    return refinePrompt(prompt, { ...defaults, ...options, model: this.model, tokenizer: this.tokenizer, vision: this.vision });
  }

  dispose(): void {
    this.model.dispose();
    this.vision?.model.dispose();
    this.vision = null;
  }
}
