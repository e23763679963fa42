export { UNet2DConditionModel } from './unet.js';
export { parseUNetConfig, unknownUNetConfigKeys, DOWN_BLOCK_TYPES, UP_BLOCK_TYPES, MID_BLOCK_TYPES, type UNetConfig, type DownBlockType, type UpBlockType, type MidBlockType } from './config.js';
export { type FromPretrainedOptions } from './source.js';
export { timestepEmbedding, timestepFrequencies, TimestepEmbedding } from './time-embedding.js';
export { Transformer2DModel, BasicTransformerBlock, FeedForward, GEGLU, type Transformer2DOptions } from './transformer.js';
export {
  CrossAttnDownBlock2D,
  DownBlock2D,
  UNetMidBlock2DCrossAttn,
  UpBlock2D,
  CrossAttnUpBlock2D,
  getDownBlock,
  getUpBlock,
  getMidBlock,
  DownBlock,
  MidBlock,
  UpBlock,
  type AnyDownBlock,
  type AnyUpBlock,
  type DownBlockOptions,
  type UpBlockOptions,
  type BlockContext,
  type BlockInputs,
} from './blocks.js';
export { randomizeWeights, type RandomWeightsOptions } from './init.js';
