export { Parameter } from './parameter.js';
export { Module, ModuleList, checkKeys } from './module.js';
export { Linear, Conv2d, GroupNorm, LayerNorm, RMSNorm, Embedding } from './layers.js';
export { loadWeights, readTensor, convertRaw, storageFor, type LoadWeightsOptions, type WeightDType } from './load.js';
export { Attention, type AttentionOptions as AttentionModuleOptions } from './blocks/attention.js';
