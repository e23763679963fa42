/** Qwen3_5ForCausalLM: the text model plus the LM head (tied to embed_tokens or `lm_head`), with cached generation. */
import * as C from '@sdxs/core';
import type { Qwen35TextConfig } from '../config.js';
import type { Qwen35Cache } from './cache.js';
import { projectOnto } from './embedding.js';
import { loadCheckpointInto, readQwenConfig, resolveQwenSource, type Qwen35LoadOptions } from './load.js';
import type { AttentionMaskInput } from './masks.js';
import { argmaxRows, sampleFromLogits, type SamplingOptions } from './sampling.js';
import { Qwen35TextModel, type InputIds, type TextForwardOptions } from './text-model.js';
import type { MultimodalPositions } from './rope.js';
import { decodingPositions } from '../vision/rope-index.js';

export interface CausalLMForwardOptions extends Pick<TextForwardOptions, 'outputHiddenStates' | 'cache' | 'deltaRule' | 'positionIds'> {
  /** Compute logits for the last position only ([B, 1, V]). */
  lastPositionOnly?: boolean;
}

export interface CausalLMOutput {
  /** [B, S, V] (or [B, 1, V] with lastPositionOnly) */
  logits: C.Tensor;
  lastHiddenState: C.Tensor;
  hiddenStates: C.Tensor[] | null;
}

/** A prompt whose embeddings are given (image features already scattered in) with its multimodal positions. */
export interface MultimodalPrefill {
  /** [1, S, D] for the S prompt ids */
  embeds: C.Tensor;
  positions: MultimodalPositions;
  /** later positions are past + ropeDelta on all three rows (RopeIndex.deltas[0]) */
  ropeDelta: number;
}

export interface GenerateOptions extends SamplingOptions {
  /** Prefill from these embeddings and positions instead of the ids' own (image prompts). */
  multimodal?: MultimodalPrefill;
  /** Upper bound on generated tokens. */
  maxNewTokens: number;
  /** Seed of the sampling generator (sampling only). */
  seed?: number;
  /** Streaming callback, called with each new token id as soon as it is chosen. */
  onToken?: (id: number, index: number) => void;
  /** Aborts between steps (an AbortError is thrown). */
  signal?: AbortSignal;
  /** Stop after any of these ids (the id is included in the result). Default: the config's eos_token_id. */
  eosTokenIds?: readonly number[];
  /** Inspection hook: the logits [1, V] that choose token `index` (valid only during the call). */
  onLogits?: (logits: C.Tensor, index: number) => void | Promise<void>;
}

/** Holder so that `lm_head.weight` loads under its checkpoint name. */
class LmHeadHolder extends C.Module {
  constructor(readonly lm_head: C.nn.Linear) {
    super();
  }
}

export class Qwen35ForCausalLM extends C.Module {
  readonly model: Qwen35TextModel;
  readonly lm_head: C.nn.Linear | undefined;

  constructor(readonly config: Qwen35TextConfig) {
    super();
    this.model = new Qwen35TextModel(config);
    this.lm_head = config.tieWordEmbeddings ? undefined : new C.nn.Linear(config.hiddenSize, config.vocabSize, false);
  }

  static async fromPretrained(source: string, options: Qwen35LoadOptions = {}): Promise<Qwen35ForCausalLM> {
    const dir = await resolveQwenSource(source, options, ['generation_config.json']);
    const lm = new Qwen35ForCausalLM(await readQwenConfig(dir));
    return loadCheckpointInto(dir, lm, (files) => lm.loadFrom(files, options));
  }

  /** Loads the text tower and (untied) `lm_head.weight` from open checkpoint files; returns resident bytes. */
  async loadFrom(files: readonly C.SafetensorsFile[], options: Qwen35LoadOptions = {}): Promise<number> {
    let bytes = await this.model.loadFrom(files, options);
    if (this.lm_head) {
      bytes += await C.loadWeights(new LmHeadHolder(this.lm_head), files, { dtype: options.dtype, signal: options.signal, skip: (k) => k !== 'lm_head.weight' });
    }
    return bytes;
  }

  /** hidden [..., D] → logits [..., V] */
  logits(hidden: C.Tensor): C.Tensor {
    return projectOnto(hidden, this.lm_head ? this.lm_head.weight : this.model.embed_tokens.weight);
  }

  forward(inputIds: InputIds, attentionMask?: AttentionMaskInput | null, options: CausalLMForwardOptions = {}): CausalLMOutput {
    return C.tidy(() => {
      const { lastHiddenState, hiddenStates } = this.model.forward(inputIds, attentionMask, options);
      const s = lastHiddenState.shape[1]!;
      const h = options.lastPositionOnly && s > 1 ? C.sliceAxis(lastHiddenState, 1, s - 1, s) : lastHiddenState;
      return { logits: this.logits(h), lastHiddenState, hiddenStates };
    });
  }

  /** forward from input embeddings [B, S, D] (see Qwen35TextModel.forwardEmbeds). */
  forwardEmbeds(inputsEmbeds: C.Tensor, attentionMask?: AttentionMaskInput | null, options: CausalLMForwardOptions = {}): CausalLMOutput {
    return C.tidy(() => {
      const { lastHiddenState, hiddenStates } = this.model.forwardEmbeds(inputsEmbeds, attentionMask, options);
      const s = lastHiddenState.shape[1]!;
      const h = options.lastPositionOnly && s > 1 ? C.sliceAxis(lastHiddenState, 1, s - 1, s) : lastHiddenState;
      return { logits: this.logits(h), lastHiddenState, hiddenStates };
    });
  }

  createCache(capacity: number | null = null): Qwen35Cache {
    return this.model.createCache(capacity);
  }

  /** Logits [1, V] of the last position after feeding `ids` (one row) through the cache. */
  private stepLogits(ids: readonly number[], cache: Qwen35Cache, positionIds?: MultimodalPositions): C.Tensor {
    return C.tidy(() => {
      const { logits } = this.forward([ids], null, { cache, lastPositionOnly: true, positionIds });
      return C.reshape(logits, [1, this.config.vocabSize]);
    });
  }

  /**
   * Generates up to `maxNewTokens` ids after `promptIds` (batch 1) with a KV / conv / recurrent cache: greedy
   * (argmax on the device, one int read per token) or sampling. Returns the new ids only.
   */
  async generate(promptIds: readonly number[], options: GenerateOptions): Promise<number[]> {
    const { maxNewTokens } = options;
    if (!Number.isInteger(maxNewTokens) || maxNewTokens < 0) throw new C.InputError(`maxNewTokens must be a non-negative integer, got ${maxNewTokens}`);
    if (promptIds.length === 0) throw new C.InputError('generate needs a non-empty prompt');
    const eos = new Set(options.eosTokenIds ?? this.config.eosTokenIds);
    const rng = new C.RandomGenerator(options.seed ?? Date.now());
    const produced: number[] = [];
    if (maxNewTokens === 0) return produced;
    C.throwIfAborted(options.signal);
    // On graph backends (ort-*) the KV buffers have a fixed length, so that every decoding step is the same
    // compiled graph (rounded up to 64 positions so that similar requests share it too).
    const capacity = C.isGraphBackend() ? Math.ceil((promptIds.length + maxNewTokens) / 64) * 64 : null;
    const cache = this.createCache(capacity);
    let next: C.Tensor | null = null;
    try {
      const mm = options.multimodal;
      if (mm) {
        if (mm.embeds.shape[0] !== 1 || mm.embeds.shape[1] !== promptIds.length) throw new C.ShapeError(`multimodal embeds ${JSON.stringify(mm.embeds.shape)} must be [1, ${promptIds.length}, D]`);
        next = C.tidy(() => C.reshape(this.forwardEmbeds(mm.embeds, null, { cache, lastPositionOnly: true, positionIds: mm.positions }).logits, [1, this.config.vocabSize]));
      } else next = this.stepLogits(promptIds, cache);
      for (let index = 0; index < maxNewTokens; index++) {
        C.throwIfAborted(options.signal);
        if (options.onLogits) await options.onLogits(next, index);
        let id: number;
        if (options.doSample) {
          id = sampleFromLogits((await next.data()) as Float32Array, options, rng);
        } else {
          const am = argmaxRows(next);
          id = (await am.data())[0]!;
          am.dispose();
        }
        next.dispose();
        next = null;
        produced.push(id);
        options.onToken?.(id, index);
        if (eos.has(id) || index === maxNewTokens - 1) break;
        next = this.stepLogits([id], cache, mm ? decodingPositions(cache.pastLength, 1, mm.ropeDelta) : undefined);
      }
    } finally {
      next?.dispose();
      cache.dispose();
    }
    return produced;
  }
}
