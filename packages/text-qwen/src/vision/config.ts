/**
 * Qwen3.5 vision config (`Qwen3_5VisionConfig`, the `vision_config` object of a `qwen3_5` VLM `config.json`) and
 * the VLM's multimodal token ids. Every value comes from the file (transformers' class defaults where it has
 * one); values the model cannot honour are refused with a ConfigError naming the key.
 */
import { CONFIG_LIMITS as L, ConfigError, previewValue } from '@sdxs/core';
import { Reader, isObject, type Json } from '../config.js';

export interface Qwen35VisionConfig {
  depth: number;
  hiddenSize: number;
  /** activation of the blocks' MLP: 'gelu_tanh' (gelu_pytorch_tanh) or 'gelu' */
  hiddenAct: 'gelu_tanh' | 'gelu';
  intermediateSize: number;
  numHeads: number;
  /** hiddenSize / numHeads */
  headDim: number;
  inChannels: number;
  patchSize: number;
  temporalPatchSize: number;
  spatialMergeSize: number;
  /** width of the merged tokens handed to the text model */
  outHiddenSize: number;
  /** rows of the learned (square) position grid */
  numPositionEmbeddings: number;
  /** int(sqrt(numPositionEmbeddings)) */
  numGridPerSide: number;
  ropeTheta: number;
}

/** The VLM's placeholder ids (top level of its config.json). */
export interface Qwen35MultimodalTokens {
  imageTokenId: number;
  videoTokenId: number | null;
  visionStartTokenId: number;
  visionEndTokenId: number;
}

const ACTIVATIONS: Record<string, Qwen35VisionConfig['hiddenAct']> = { gelu_pytorch_tanh: 'gelu_tanh', gelu_new: 'gelu_tanh', gelu: 'gelu' };

/** Whether a parsed config.json is a VLM config with a vision tower. */
export function hasVisionConfig(json: unknown): boolean {
  return isObject(json) && isObject(json.vision_config);
}

/** Parse `vision_config` of a Qwen3.5 VLM `config.json`. `file` names the source in errors. */
export function parseQwen35VisionConfig(json: unknown, file = 'config.json'): Qwen35VisionConfig {
  if (!isObject(json)) throw new ConfigError(`${file}: config is not a JSON object`);
  if (!isObject(json.vision_config)) throw new ConfigError(`${file}: 'vision_config' is missing: this checkpoint has no vision tower`);
  const r: Reader = new Reader(json.vision_config, file, 'vision_config.');
  const modelType = r.raw('model_type');
  if (modelType !== undefined && modelType !== 'qwen3_5_vision') r.fail('model_type', `is ${previewValue(modelType)}; expected "qwen3_5_vision"`);
  const act = r.str('hidden_act', 'gelu_pytorch_tanh');
  const hiddenAct = ACTIVATIONS[act];
  if (!hiddenAct) r.fail('hidden_act', `is ${previewValue(act)}; supported: ${Object.keys(ACTIVATIONS).join(', ')}`);
  const hiddenSize = r.int('hidden_size', 1152, L.channels);
  const numHeads = r.int('num_heads', 16, L.heads);
  if (hiddenSize % numHeads !== 0) r.fail('num_heads', `(${numHeads}) must divide hidden_size (${hiddenSize})`);
  const headDim = hiddenSize / numHeads;
  if (headDim % 4 !== 0) r.fail('num_heads', `gives a head dim of ${headDim}; the 2-D rotary embedding needs a multiple of 4`);
  const numPositionEmbeddings = r.int('num_position_embeddings', 2304, L.positions);
  const numGridPerSide = Math.floor(Math.sqrt(numPositionEmbeddings));
  if (numGridPerSide * numGridPerSide !== numPositionEmbeddings) r.fail('num_position_embeddings', `(${numPositionEmbeddings}) must be a square number`);
  let ropeTheta = 10000;
  const rp = r.raw('rope_parameters');
  if (rp !== undefined) {
    if (!isObject(rp)) r.fail('rope_parameters', 'must be an object');
    const rr: Reader = new Reader(rp, file, 'vision_config.rope_parameters.');
    const type = rr.str('rope_type', 'axial');
    if (type !== 'axial') rr.fail('rope_type', `is ${previewValue(type)}; the vision tower's rope is "axial"`);
    ropeTheta = rr.num('rope_theta', 10000);
  }
  if (!(ropeTheta > 0)) r.fail('rope_parameters.rope_theta', `must be > 0, got ${ropeTheta}`);
  return {
    depth: r.int('depth', 27, L.layers),
    hiddenSize,
    hiddenAct,
    intermediateSize: r.int('intermediate_size', 4304, L.intermediate),
    numHeads,
    headDim,
    inChannels: r.int('in_channels', 3, 16),
    patchSize: r.int('patch_size', 16, 1024),
    temporalPatchSize: r.int('temporal_patch_size', 2, 64),
    spatialMergeSize: r.int('spatial_merge_size', 2, 64),
    outHiddenSize: r.int('out_hidden_size', 3584, L.channels),
    numPositionEmbeddings,
    numGridPerSide,
    ropeTheta,
  };
}

/** The placeholder ids of a Qwen3.5 VLM config (required: an image prompt cannot be built without them). */
export function parseQwen35MultimodalTokens(json: unknown, file = 'config.json'): Qwen35MultimodalTokens {
  if (!isObject(json)) throw new ConfigError(`${file}: config is not a JSON object`);
  const r: Reader = new Reader(json as Json, file, '');
  const videoRaw = r.raw('video_token_id');
  return {
    imageTokenId: r.int('image_token_id', undefined, L.vocab, 0),
    videoTokenId: videoRaw === undefined ? null : r.int('video_token_id', undefined, L.vocab, 0),
    visionStartTokenId: r.int('vision_start_token_id', undefined, L.vocab, 0),
    visionEndTokenId: r.int('vision_end_token_id', undefined, L.vocab, 0),
  };
}
