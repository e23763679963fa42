/**
 * SDXS conditioning: each prompt is wrapped as one chat user message, rendered with the generation prompt,
 * tokenized with right padding/truncation to 248 tokens, run through the text tower up to
 * `hidden_states[-2]`, and the last real token's vector is prepended as a pooled token:
 * states [B, 249, D], mask [B, 249] = [1, mask...].
 */
import * as C from '@sdxs/core';
import { QwenTokenizer, type BatchEncoding } from '../tokenizer.js';
import { Qwen35TextModel } from '../model/text-model.js';
import type { Qwen35LoadOptions } from '../model/load.js';
import { multimodalRopeIndex } from '../vision/rope-index.js';
import { scatterImageFeatures } from '../vision/scatter.js';
import { imageMessageIds, isImagePrompt, loadSdxsVision, type ImagePrompt, type SdxsVision } from './image-prompt.js';

/** SDXS's tokenizer max length (the conditioning has one more position: the pooled token). */
export const SDXS_MAX_LENGTH = 248;

export interface SdxsConditioning {
  /** [B, maxLength + 1, D]: pooled last-real-token vector, then hidden_states[-2] of the padded prompt */
  states: C.Tensor;
  /** float32 0/1 [B, maxLength + 1], leading 1 for the pooled token */
  mask: C.Tensor;
}

export interface SdxsTextEncoderOptions {
  /** Token budget of the chat-wrapped prompt (default 248). */
  maxLength?: number;
  /** Passed to the chat template (`enable_thinking`); undefined keeps the template's default. */
  enableThinking?: boolean;
}

export interface SdxsTextEncoderLoadOptions extends SdxsTextEncoderOptions, Pick<Qwen35LoadOptions, 'dtype' | 'signal' | 'onProgress'> {
  /** Load the vision tower too (image prompts); default false (it can be loaded later with loadVision). */
  vision?: boolean;
  /** default 'text_encoder' */
  textEncoderSubfolder?: string;
  /** default 'tokenizer' */
  tokenizerSubfolder?: string;
}

/**
 * `c` right-padded to `length` positions (zero states, mask 0), e.g. the unconditional branch next to a longer
 * image-prompt conditioning. Returns `c` itself when it is already that long.
 */
export function padConditioning(c: SdxsConditioning, length: number): SdxsConditioning {
  const s = c.states.shape[1]!;
  if (s === length) return c;
  if (s > length) throw new C.InputError(`conditioning of ${s} positions cannot be padded to ${length}`);
  return C.tidy(() => ({ states: C.pad(c.states, [[0, 0], [0, length - s], [0, 0]]), mask: C.pad(c.mask, [[0, 0], [0, length - s]]) }));
}

export class SdxsTextEncoder {
  readonly maxLength: number;
  readonly enableThinking: boolean | undefined;
  /** The vision tower and image processor, once loaded (image prompts). */
  vision: SdxsVision | null = null;

  constructor(readonly model: Qwen35TextModel, readonly tokenizer: QwenTokenizer, options: SdxsTextEncoderOptions = {}) {
    this.maxLength = options.maxLength ?? SDXS_MAX_LENGTH;
    this.enableThinking = options.enableThinking;
  }

  /** Loads `text_encoder/` and `tokenizer/` of an SDXS repo (local folder or hub id). */
  static async fromPretrained(source: string, options: SdxsTextEncoderLoadOptions = {}): Promise<SdxsTextEncoder> {
    const tokSub = options.tokenizerSubfolder ?? 'tokenizer';
    const tokDir = await C.resolveModelSource(source, {
      subfolder: tokSub,
      files: ['tokenizer.json', 'tokenizer_config.json'],
      optionalFiles: ['chat_template.jinja', 'chat_template.json', 'preprocessor_config.json'],
      signal: options.signal,
    });
    const tokenizer = await QwenTokenizer.fromPretrained(tokDir);
    const teDir = await C.resolveModelSource(source, { subfolder: options.textEncoderSubfolder ?? 'text_encoder', files: ['config.json'], checkpoints: ['model'], optionalFiles: ['preprocessor_config.json'], signal: options.signal });
    const model = await Qwen35TextModel.fromPretrained(teDir, options);
    const encoder = new SdxsTextEncoder(model, tokenizer, options);
    if (options.vision) {
      try {
        await encoder.loadVision(teDir, [tokDir, teDir], options);
      } catch (e) {
        encoder.dispose();
        throw e;
      }
    }
    return encoder;
  }

  /**
   * Loads the vision tower of the local text-encoder folder `textEncoderDir` and the image processor from the
   * first of `processorDirs` with a `preprocessor_config.json` (default: the text-encoder folder).
   */
  async loadVision(textEncoderDir: string, processorDirs: readonly string[] = [textEncoderDir], options: Pick<Qwen35LoadOptions, 'dtype' | 'signal' | 'onProgress'> = {}): Promise<SdxsVision> {
    this.vision ??= await loadSdxsVision(textEncoderDir, processorDirs, options);
    return this.vision;
  }

  /** The chat-wrapped prompt text (one user message + the generation prompt). */
  wrap(prompt: string): string {
    return this.tokenizer.applyChatTemplate([{ role: 'user', content: prompt }], {
      addGenerationPrompt: true,
      enableThinking: this.enableThinking,
    });
  }

  /** Ids and mask of the chat-wrapped prompts, right-padded / truncated to maxLength. */
  tokenize(prompts: readonly string[]): BatchEncoding {
    return this.tokenizer.encodeBatch(
      prompts.map((p) => this.wrap(p)),
      { maxLength: this.maxLength, padding: 'max_length', truncation: true, addSpecialTokens: false },
    );
  }

  /** Conditioning of already tokenized prompts (rows of length maxLength with their masks). */
  encodeTokens(batch: BatchEncoding): SdxsConditioning {
    const { inputIds, attentionMask } = batch;
    const b = inputIds.length;
    const s = inputIds[0]?.length ?? 0;
    const lengths = attentionMask.map((row) => row.reduce((a, v) => a + v, 0));
    if (lengths.some((n) => n === 0)) throw new C.InputError('every prompt needs at least one real token');
    return C.tidy(() => {
      const h = this.model.penultimateHiddenState(inputIds, attentionMask);
      const d = h.shape[2]!;
      const lastIdx = C.tensor(Int32Array.from(lengths, (n, i) => i * s + n - 1), [b], 'int32');
      const pooled = C.reshape(C.gather(C.reshape(h, [b * s, d]), lastIdx, 0), [b, 1, d]);
      const states = C.concat([pooled, h], 1);
      const maskRows = new Float32Array(b * (s + 1));
      attentionMask.forEach((row, i) => {
        maskRows[i * (s + 1)] = 1;
        row.forEach((v, j) => (maskRows[i * (s + 1) + 1 + j] = v));
      });
      return { states, mask: C.tensor(maskRows, [b, s + 1]) };
    });
  }

  /**
   * Prompts → UNet conditioning. An image prompt `{ image, text? }` (experimental in SDXS itself) is one chat
   * message holding the image then the text; its conditioning is at least maxLength + 1 long and longer when the
   * image's tokens need it (it is never truncated), mask 1 on its real tokens.
   */
  encode(prompts: string | readonly string[] | ImagePrompt): SdxsConditioning {
    if (isImagePrompt(prompts)) return this.encodeImage(prompts);
    return this.encodeTokens(this.tokenize(typeof prompts === 'string' ? [prompts] : prompts));
  }

  private encodeImage(prompt: ImagePrompt): SdxsConditioning {
    const v = this.vision;
    if (!v) throw new C.InputError('image prompt: the vision tower is not loaded (SdxsTextEncoder.fromPretrained(source, { vision: true }) or loadVision())');
    const { pixelValues, imageGridThw } = v.processor.preprocess(prompt.image);
    try {
      const ids = imageMessageIds(this.tokenizer, v, imageGridThw[0]!, prompt.text, { enableThinking: this.enableThinking });
      const n = ids.length;
      const s = Math.max(n, this.maxLength);
      const pad = this.tokenizer.padTokenId ?? this.tokenizer.eosTokenId;
      const row = [...ids, ...new Array<number>(s - n).fill(pad)];
      const maskRow = row.map((_, i) => (i < n ? 1 : 0));
      const positions = multimodalRopeIndex([row], imageGridThw, v.tokens.imageTokenId, v.model.config.spatialMergeSize, [maskRow]);
      return C.tidy(() => {
        const { imageEmbeds } = v.model.forward(pixelValues, imageGridThw);
        const embeds = scatterImageFeatures(this.model.embed_tokens, [row], imageEmbeds, v.tokens.imageTokenId);
        const h = this.model.forwardEmbeds(embeds, [maskRow], { stopAtLayer: this.model.config.numHiddenLayers - 1, positionIds: positions }).lastHiddenState;
        const pooled = C.sliceAxis(h, 1, n - 1, n);
        const states = C.concat([pooled, h], 1);
        return { states, mask: C.tensor(Float32Array.from([1, ...maskRow]), [1, s + 1]) };
      });
    } finally {
      pixelValues.dispose();
    }
  }

  /** The empty-prompt conditioning (unconditional branch of CFG, training dropout), repeated `batch` times. */
  encodeEmpty(batch = 1): SdxsConditioning {
    return this.encode(new Array<string>(batch).fill(''));
  }

  /**
   * Classifier-free guidance batch in one forward: negatives first, then positives (diffusers' order),
   * states [2B, 249, D]. Missing negatives use the empty prompt.
   */
  encodeWithNegative(prompts: string | readonly string[], negativePrompts?: string | readonly string[]): SdxsConditioning {
    const pos = typeof prompts === 'string' ? [prompts] : [...prompts];
    const negRaw = negativePrompts === undefined ? [] : typeof negativePrompts === 'string' ? [negativePrompts] : [...negativePrompts];
    const neg = negRaw.length === 0 ? pos.map(() => '') : negRaw.length === 1 ? pos.map(() => negRaw[0]!) : negRaw;
    if (neg.length !== pos.length) throw new C.InputError(`${neg.length} negative prompts for ${pos.length} prompts`);
    return this.encode([...neg, ...pos]);
  }

  /** Frees the text tower's weights and the vision tower's (the tokenizer stays usable). */
  dispose(): void {
    this.model.dispose();
    this.vision?.model.dispose();
    this.vision = null;
  }
}
