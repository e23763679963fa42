/**
 * Qwen3_5Model: the vision tower (`model.visual.*`) and the text model (`model.language_model.*`). Image features
 * replace the image placeholder tokens' embeddings in order (the reference's masked_scatter), and the text model
 * runs with the 3-D multimodal rope positions.
 */
import * as C from '@sdxs/core';
import { parseQwen35Config, type Qwen35TextConfig } from '../config.js';
import { parseQwen35MultimodalTokens, parseQwen35VisionConfig, type Qwen35MultimodalTokens, type Qwen35VisionConfig } from '../vision/config.js';
import { multimodalRopeIndex, type RopeIndex } from '../vision/rope-index.js';
import { scatterImageFeatures } from '../vision/scatter.js';
import { gridRows, Qwen35VisionModel, type ImageGridInput } from '../vision/vision-model.js';
import { loadCheckpointInto, resolveQwenSource, type Qwen35LoadOptions } from './load.js';
import type { AttentionMaskInput } from './masks.js';
import { Qwen35TextModel, type TextForwardOptions, type TextModelOutput } from './text-model.js';

export interface Qwen35ModelConfig {
  text: Qwen35TextConfig;
  vision: Qwen35VisionConfig;
  tokens: Qwen35MultimodalTokens;
}

/** Reads the three parts of a VLM config.json (errors name `file`). */
export function parseQwen35ModelConfig(json: unknown, file = 'config.json'): Qwen35ModelConfig {
  return { text: parseQwen35Config(json, file), vision: parseQwen35VisionConfig(json, file), tokens: parseQwen35MultimodalTokens(json, file) };
}

/** Token rows [B][S] or an int tensor [B, S]. */
export type MultimodalIds = readonly (readonly number[])[] | C.Tensor;

export interface MultimodalInputs {
  /** Token rows [B][S] (or an int tensor) with one image placeholder per merged patch group. */
  inputIds: MultimodalIds;
  /** [patches, C·T·P·P] from Qwen35ImageProcessor (every image of the batch, in order). */
  pixelValues: C.Tensor | Float32Array;
  imageGridThw: ImageGridInput;
  attentionMask?: AttentionMaskInput | null;
}

const idRows = (ids: MultimodalIds): readonly (readonly number[])[] => {
  if (!(ids instanceof C.Tensor)) return ids;
  if (ids.rank !== 2) throw new C.ShapeError(`inputIds ${JSON.stringify(ids.shape)} must be [B, S]`);
  const [b, s] = ids.shape as [number, number];
  let v: ArrayLike<number>;
  try {
    v = ids.dataSync() as ArrayLike<number>;
  } catch (e) {
    throw new C.InputError(`inputIds: the multimodal positions are computed on the host and this backend cannot read a tensor synchronously; pass the ids as rows of numbers (${(e as Error).message})`);
  }
  return Array.from({ length: b }, (_, i) => Array.from({ length: s }, (_, j) => Number(v[i * s + j])));
};

const hostRows = (m: AttentionMaskInput | null | undefined): readonly (readonly number[])[] | null => {
  if (m === null || m === undefined) return null;
  if (m instanceof C.Tensor) {
    const [b, s] = m.shape as [number, number];
    const v = m.dataSync() as ArrayLike<number>;
    return Array.from({ length: b }, (_, i) => Array.from({ length: s }, (_, j) => Number(v[i * s + j])));
  }
  return m;
};

export class Qwen35Model extends C.Module {
  readonly visual: Qwen35VisionModel;
  readonly language_model: Qwen35TextModel;

  constructor(readonly config: Qwen35ModelConfig) {
    super();
    this.visual = new Qwen35VisionModel(config.vision);
    this.language_model = new Qwen35TextModel(config.text);
  }

  /** Reads `config.json` and both towers of `model.safetensors` (single or sharded). */
  static async fromPretrained(source: string, options: Qwen35LoadOptions = {}): Promise<Qwen35Model> {
    const dir = await resolveQwenSource(source, options);
    const model = new Qwen35Model(parseQwen35ModelConfig(await C.loadConfig(dir), `${dir}/config.json`));
    return loadCheckpointInto(dir, model, async (files) => {
      await model.language_model.loadFrom(files, options);
      await model.visual.loadFrom(files, options);
    });
  }

  /** The host positions and per-row rope deltas of `inputIds` (see multimodalPositionIds). */
  ropeIndex(inputIds: MultimodalIds, imageGridThw: ImageGridInput, attentionMask?: AttentionMaskInput | null): RopeIndex {
    return multimodalRopeIndex(idRows(inputIds), gridRows(imageGridThw), this.config.tokens.imageTokenId, this.config.vision.spatialMergeSize, hostRows(attentionMask));
  }

  /** The reference's `compute_3d_position_ids`: int32 [3, B, S] (temporal, height, width rows). */
  multimodalPositionIds(inputIds: MultimodalIds, imageGridThw: ImageGridInput, attentionMask?: AttentionMaskInput | null): C.Tensor {
    const r = this.ropeIndex(inputIds, imageGridThw, attentionMask);
    return C.tensor(r.data, [3, r.batch, r.length], 'int32');
  }

  /** Text embeddings [B, S, D] with the image features [tokens, D] over the placeholders, in order. */
  mergeEmbeddings(inputIds: MultimodalIds, imageEmbeds: C.Tensor): C.Tensor {
    return scatterImageFeatures(this.language_model.embed_tokens, idRows(inputIds), imageEmbeds, this.config.tokens.imageTokenId);
  }

  /** The whole model: vision tower, placeholder scatter, text model with multimodal positions. */
  forward(inputs: MultimodalInputs, options: Omit<TextForwardOptions, 'positionIds' | 'cache'> = {}): TextModelOutput {
    const { pixelValues, imageGridThw, attentionMask } = inputs;
    const inputIds = idRows(inputs.inputIds);
    const positions = this.ropeIndex(inputIds, imageGridThw, attentionMask);
    return C.tidy(() => {
      const { imageEmbeds } = this.visual.forward(pixelValues, imageGridThw);
      const embeds = this.mergeEmbeddings(inputIds, imageEmbeds);
      return this.language_model.forwardEmbeds(embeds, attentionMask ?? null, { ...options, positionIds: positions });
    });
  }

  /** The reference's `hidden_states[-2]` [B, S, D] of the multimodal input (what SDXS conditions on). */
  penultimateHiddenState(inputs: MultimodalInputs): C.Tensor {
    return this.forward(inputs, { stopAtLayer: this.config.text.numHiddenLayers - 1 }).lastHiddenState;
  }
}
