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
  /** default 'text_encoder' */
  textEncoderSubfolder?: string;
  /** default 'tokenizer' */
  tokenizerSubfolder?: string;
}

export class SdxsTextEncoder {
  readonly maxLength: number;
  readonly enableThinking: boolean | undefined;

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
      optionalFiles: ['chat_template.jinja', 'chat_template.json'],
      signal: options.signal,
    });
    const tokenizer = await QwenTokenizer.fromPretrained(tokDir);
    const model = await Qwen35TextModel.fromPretrained(source, { ...options, subfolder: options.textEncoderSubfolder ?? 'text_encoder' });
    return new SdxsTextEncoder(model, tokenizer, options);
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

  /** Prompts → UNet conditioning. */
  encode(prompts: string | readonly string[]): SdxsConditioning {
    return this.encodeTokens(this.tokenize(typeof prompts === 'string' ? [prompts] : prompts));
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

  /** Frees the text tower's weights (the tokenizer stays usable). */
  dispose(): void {
    this.model.dispose();
  }
}
