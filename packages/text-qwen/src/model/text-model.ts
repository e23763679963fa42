/** Qwen3_5TextModel: embeddings, the hybrid decoder stack and the final zero-centred RMSNorm. */
import * as C from '@sdxs/core';
import type { Qwen35TextConfig } from '../config.js';
import { Qwen35Cache } from './cache.js';
import { Qwen35DecoderLayer, type LayerContext } from './decoder-layer.js';
import { keyValueWrite } from './attention.js';
import { Qwen35Embedding } from './embedding.js';
import type { DeltaRuleMode } from './gated-deltanet.js';
import { isNonTextKey, loadCheckpointInto, readQwenConfig, resolveQwenSource, textPrefix, type Qwen35LoadOptions } from './load.js';
import { attentionBias, maskTensor, type AttentionMaskInput } from './masks.js';
import { mropeTables, ropeTables, type MultimodalPositions } from './rope.js';

/** Token ids: host rows [B][S] or an int32 tensor [B, S]. */
export type InputIds = readonly (readonly number[])[] | C.Tensor;

export interface TextForwardOptions {
  /** Return `hiddenStates` (the reference's tuple: embeddings, each layer's output, the last one normed). */
  outputHiddenStates?: boolean;
  /**
   * Stop once `hiddenStates[stopAtLayer]` exists (0..L). Below L the last layers and the final norm are
   * skipped and `lastHiddenState` is that raw state; `numHiddenLayers - 1` gives the reference's hidden_states[-2].
   */
  stopAtLayer?: number;
  /** Generation cache: read and updated in place (the mask, when given, covers past + new tokens). */
  cache?: Qwen35Cache;
  /** Delta-rule form for prefill: 'auto' (chunked for S > 1), 'recurrent' or 'chunked'. */
  deltaRule?: DeltaRuleMode;
  /**
   * Multimodal rope positions of the new tokens (see Qwen35Model.multimodalPositionIds); absent: past..past+S-1
   * on all three rows, which is plain RoPE.
   */
  positionIds?: MultimodalPositions;
}

export interface TextModelOutput {
  /** [B, S, D]: the final-normed output (or the raw state at `stopAtLayer`). */
  lastHiddenState: C.Tensor;
  /** The reference's `hidden_states` tuple when asked for, else null. */
  hiddenStates: C.Tensor[] | null;
}

/** Leading module paths LoRA files put before the text tower's own (VLM, causal-LM and bare language-model layouts). */
const QWEN_LORA_PREFIXES = ['model.language_model.', 'model.', 'language_model.model.', 'language_model.'];

export class Qwen35TextModel extends C.nn.LoraModule {
  readonly embed_tokens: Qwen35Embedding;
  readonly layers: C.ModuleList<Qwen35DecoderLayer>;
  readonly norm: C.nn.RMSNorm;

  constructor(readonly config: Qwen35TextConfig) {
    super();
    this.embed_tokens = new Qwen35Embedding(config.vocabSize, config.hiddenSize);
    this.layers = new C.ModuleList(config.layerTypes.map((t) => new Qwen35DecoderLayer(config, t)));
    this.norm = new C.nn.RMSNorm(config.hiddenSize, config.rmsNormEps, true);
  }

  /** Reads `config.json` and the text tower of `model.safetensors` (vision / MTP tensors are skipped unread). */
  static async fromPretrained(source: string, options: Qwen35LoadOptions = {}): Promise<Qwen35TextModel> {
    const dir = await resolveQwenSource(source, options);
    const model = new Qwen35TextModel(await readQwenConfig(dir));
    return loadCheckpointInto(dir, model, (files) => model.loadFrom(files, options));
  }

  /** Loads this text tower from open checkpoint files (prefix detected; `lm_head`, vision and MTP tensors skipped). */
  async loadFrom(files: readonly C.SafetensorsFile[], options: Qwen35LoadOptions = {}): Promise<number> {
    const prefix = textPrefix(files);
    return C.loadWeights(this, files, {
      prefix,
      dtype: options.dtype,
      signal: options.signal,
      onProgress: options.onProgress,
      skip: (k) => isNonTextKey(k) || k === 'lm_head.weight',
    });
  }

  /**
   * LoRA (the methods are LoraModule's): diffusers/PEFT `text_encoder.…` / `base_model.model.model.…` or kohya
   * `lora_te_…` keys, module paths with or without `model.` / `model.language_model.`.
   */
  protected get loraTarget(): C.nn.LoraTarget {
    return { component: 'text_encoder', modulePrefixes: QWEN_LORA_PREFIXES };
  }

  /** A cache for incremental decoding; `capacity` fixes the KV buffers' length (see Qwen35Cache). */
  createCache(capacity: number | null = null): Qwen35Cache {
    return new Qwen35Cache(this.config.numHiddenLayers, capacity);
  }

  forward(inputIds: InputIds, attentionMask?: AttentionMaskInput | null, options: TextForwardOptions = {}): TextModelOutput {
    return this.run(inputIds, null, attentionMask, options);
  }

  /**
   * The same forward from input embeddings [B, S, D] instead of ids (the multimodal model's text embeddings
   * with image features scattered in). The tensor stays the caller's.
   */
  forwardEmbeds(inputsEmbeds: C.Tensor, attentionMask?: AttentionMaskInput | null, options: TextForwardOptions = {}): TextModelOutput {
    if (inputsEmbeds.rank !== 3 || inputsEmbeds.shape[2] !== this.config.hiddenSize) {
      throw new C.ShapeError(`inputsEmbeds ${JSON.stringify(inputsEmbeds.shape)} must be [B, S, ${this.config.hiddenSize}]`);
    }
    return this.run(null, inputsEmbeds, attentionMask, options);
  }

  private run(inputIds: InputIds | null, inputsEmbeds: C.Tensor | null, attentionMask: AttentionMaskInput | null | undefined, options: TextForwardOptions): TextModelOutput {
    const cfg = this.config;
    const numLayers = cfg.numHiddenLayers;
    const stop = options.stopAtLayer ?? numLayers;
    if (!Number.isInteger(stop) || stop < 0 || stop > numLayers) throw new C.InputError(`stopAtLayer must be an integer in 0..${numLayers}, got ${stop}`);
    const cache = options.cache ?? null;
    if (cache && stop !== numLayers) throw new C.InputError('stopAtLayer cannot be combined with a generation cache');
    // one compiled region on graph backends (ort-*); the cache goes in as an argument: its state is an input, and what the forward writes into it comes out of the same graph
    return this.graph(inputIds, inputsEmbeds, attentionMask, cache, options);
  }

  /** The forward as one compiled graph on graph backends (ort-*), cached per shape; arguments checked by `run`. */
  private readonly graph = C.compile('qwen', (inputIds: InputIds | null, inputsEmbeds: C.Tensor | null, attentionMask: AttentionMaskInput | null | undefined, cache: Qwen35Cache | null, options: TextForwardOptions): TextModelOutput => {
    const cfg = this.config;
    const numLayers = cfg.numHiddenLayers;
    const stop = options.stopAtLayer ?? numLayers;
    const output = options.outputHiddenStates ?? false;
    const ids = inputIds instanceof C.Tensor ? inputIds : inputsEmbeds;
    const [b, s] = ids ? (ids.shape as [number, number]) : [(inputIds as readonly number[][]).length, (inputIds as readonly number[][])[0]?.length ?? 0];
    if (s === 0) throw new C.InputError('forward needs at least one token');
    const past = cache?.pastLength ?? 0;
    const total = past + s;
    const { mask, allOnes } = maskTensor(attentionMask, b, total);
    const cap = cache?.capacity ?? null;
    if (cap !== null && total > cap) throw new C.InputError(`the cache holds ${cap} positions; ${total} were asked for`);
    const padMask = allOnes ? null : mask;
    // keys span the whole fixed-capacity buffer: padding and unwritten positions are masked
    const keyMask = cap === null || padMask === null ? padMask : C.pad(padMask, [[0, 0], [0, cap - total]]);
    const linearMask = padMask === null || s === 1 ? null : past > 0 ? C.sliceAxis(padMask, 1, past, total) : padMask;
    const hasAttention = cfg.layerTypes.slice(0, stop).includes('full_attention');
    const groups = cfg.numAttentionHeads / cfg.numKeyValueHeads;
    const ctx: LayerContext = {
      linearMask,
      attentionBias: hasAttention ? (cap === null ? attentionBias(padMask, b, s, total, groups) : attentionBias(keyMask, b, s, cap, groups, past)) : null,
      rope: options.positionIds ? mropeTables(options.positionIds, b, s, cfg.rotaryDim, cfg.ropeTheta, cfg.mropeSection) : ropeTables(past, s, cfg.rotaryDim, cfg.ropeTheta),
      deltaRule: options.deltaRule ?? 'auto',
      kvWrite: cap !== null && hasAttention ? keyValueWrite(past, s, cap) : null,
    };
    let h = inputsEmbeds ?? this.embed_tokens.forward(inputIds!);
    const hidden: C.Tensor[] = output ? [h] : [];
    for (let i = 0; i < stop; i++) {
      const layer = this.layers.at(i);
      const input = h;
      const res = C.tidy(() => layer.forward(input, ctx, cache ? cache.layers[i] : undefined));
      if (cache && res.state) cache.set(i, res.state);
      if (!output && input !== inputsEmbeds) input.dispose();
      h = res.out;
      if (output) hidden.push(h);
    }
    if (cache) cache.pastLength = total;
    if (stop === numLayers) {
      const normed = this.norm.forward(h);
      if (output) hidden[numLayers] = normed;
      return { lastHiddenState: normed, hiddenStates: output ? hidden : null };
    }
    return { lastHiddenState: h, hiddenStates: output ? hidden : null };
  });

  /** The reference's `hidden_states[-2]` (raw output of layer L-2), running only the layers it needs. */
  penultimateHiddenState(inputIds: InputIds, attentionMask?: AttentionMaskInput | null): C.Tensor {
    return this.forward(inputIds, attentionMask, { stopAtLayer: this.config.numHiddenLayers - 1 }).lastHiddenState;
  }
}
