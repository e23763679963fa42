export { Parameter } from './parameter.js';
export { Module, ModuleList, checkKeys } from './module.js';
export { Linear, Conv2d, GroupNorm, LayerNorm, RMSNorm, Embedding } from './layers.js';
export { loadWeights, readTensor, convertRaw, isFloatDType, storageFor, type LoadWeightsOptions, type WeightDType } from './load.js';
export { Attention, type AttentionOptions as AttentionModuleOptions } from './blocks/attention.js';
export { LoraSlots, isLoraLayer, addLayerAdapter, fuseLayer, unfuseLayer, removeLayerAdapters, loraDropoutMask, checkLoraScale, MAX_LORA_SCALE, type LoraLayer, type LoraLayerAdapter, type LoraDropout } from './lora.js';
// LoRA files (loading, key mapping, new adapters, saving) live in loaders/lora; nn re-exports them
export * from '../loaders/lora/index.js';
export { LoraModule, type LoraTarget, type ModelLoraOptions } from './lora-module.js';
