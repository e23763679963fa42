export { UNet2DConditionModel } from './unet.js';
export { parseUNetConfig, unknownUNetConfigKeys, type UNetConfig, type DownBlockType, type UpBlockType } from './config.js';
export { type FromPretrainedOptions } from './source.js';
export { timestepEmbedding, timestepFrequencies, TimestepEmbedding } from './time-embedding.js';
export { Transformer2DModel, BasicTransformerBlock, FeedForward, GEGLU, type Transformer2DOptions } from './transformer.js';
export { DownBlock, MidBlock, UpBlock, type BlockContext, type BlockInputs } from './blocks.js';
export { randomizeWeights, type RandomWeightsOptions } from './init.js';
