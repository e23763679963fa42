/**
 * Qwen3.5 vision config (`Qwen3_5VisionConfig`, the `vision_config` object of a `qwen3_5` VLM `config.json`) and
 * the VLM's multimodal token ids. Every value comes from the file (transformers' class defaults where it has
 * one); values the model cannot honour are refused with a ConfigError naming the key.
 */
import { CONFIG_LIMITS as L, ConfigError, ConfigReader, isConfigObject, previewValue, type ConfigObject } from '@sdxs/core';

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
  return isConfigObject(json) && isConfigObject(json.vision_config);
}

/** Parse `vision_config` of a Qwen3.5 VLM `config.json`. `file` names the source in errors. */
export function parseQwen35VisionConfig(json: unknown, file = 'config.json'): Qwen35VisionConfig {
  const top = ConfigReader.of(json, file).obj;
  if (!isConfigObject(top.vision_config)) throw new ConfigError(`${file}: 'vision_config' is missing: this checkpoint has no vision tower`);
  const r: ConfigReader = new ConfigReader(top.vision_config, file, 'vision_config.');
  const modelType = r.raw('model_type');
  if (modelType !== undefined && modelType !== 'qwen3_5_vision') r.fail('model_type', `is ${previewValue(modelType)}; expected "qwen3_5_vision"`);
  const act = r.string('hidden_act', 'gelu_pytorch_tanh');
  const hiddenAct = ACTIVATIONS[act];
  if (!hiddenAct) r.fail('hidden_act', `is ${previewValue(act)}; supported: ${Object.keys(ACTIVATIONS).join(', ')}`);
  const hiddenSize = r.integer('hidden_size', 1152, 1, L.channels);
  const numHeads = r.integer('num_heads', 16, 1, L.heads);
  if (hiddenSize % numHeads !== 0) r.fail('num_heads', `(${numHeads}) must divide hidden_size (${hiddenSize})`);
  const headDim = hiddenSize / numHeads;
  if (headDim % 4 !== 0) r.fail('num_heads', `gives a head dim of ${headDim}; the 2-D rotary embedding needs a multiple of 4`);
  const numPositionEmbeddings = r.integer('num_position_embeddings', 2304, 1, L.positions);
  const numGridPerSide = Math.floor(Math.sqrt(numPositionEmbeddings));
  if (numGridPerSide * numGridPerSide !== numPositionEmbeddings) r.fail('num_position_embeddings', `(${numPositionEmbeddings}) must be a square number`);
  let ropeTheta = 10000;
  const rp = r.raw('rope_parameters');
  if (rp !== undefined) {
    const rr: ConfigReader = ConfigReader.of(rp, file, 'vision_config.rope_parameters.');
    const type = rr.string('rope_type', 'axial');
    if (type !== 'axial') rr.fail('rope_type', `is ${previewValue(type)}; the vision tower's rope is "axial"`);
    ropeTheta = rr.number('rope_theta', 10000);
  }
  if (!(ropeTheta > 0)) r.fail('rope_parameters.rope_theta', `must be > 0, got ${ropeTheta}`);
  return {
    depth: r.integer('depth', 27, 1, L.layers),
    hiddenSize,
    hiddenAct,
    intermediateSize: r.integer('intermediate_size', 4304, 1, L.intermediate),
    numHeads,
    headDim,
    inChannels: r.integer('in_channels', 3, 1, 16),
    patchSize: r.integer('patch_size', 16, 1, 1024),
    temporalPatchSize: r.integer('temporal_patch_size', 2, 1, 64),
    spatialMergeSize: r.integer('spatial_merge_size', 2, 1, 64),
    outHiddenSize: r.integer('out_hidden_size', 3584, 1, L.channels),
    numPositionEmbeddings,
    numGridPerSide,
    ropeTheta,
  };
}

/** The placeholder ids of a Qwen3.5 VLM config (required: an image prompt cannot be built without them). */
export function parseQwen35MultimodalTokens(json: unknown, file = 'config.json'): Qwen35MultimodalTokens {
  const r: ConfigReader = ConfigReader.of(json, file);
  const videoRaw = r.raw('video_token_id');
  return {
    imageTokenId: r.integer('image_token_id', undefined, 0, L.vocab),
    videoTokenId: videoRaw === undefined ? null : r.integer('video_token_id', undefined, 0, L.vocab),
    visionStartTokenId: r.integer('vision_start_token_id', undefined, 0, L.vocab),
    visionEndTokenId: r.integer('vision_end_token_id', undefined, 0, L.vocab),
  };
}
