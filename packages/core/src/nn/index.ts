export { Parameter } from './parameter.js';
export { Module, ModuleList, checkKeys } from './module.js';
export { Linear, Conv2d, GroupNorm, LayerNorm, RMSNorm, Embedding } from './layers.js';
export { loadWeights, readTensor, convertRaw, isFloatDType, storageFor, type LoadWeightsOptions, type WeightDType } from './load.js';
export { Attention, type AttentionOptions as AttentionModuleOptions } from './blocks/attention.js';
export { LoraSlots, isLoraLayer, addLayerAdapter, fuseLayer, unfuseLayer, removeLayerAdapters, loraDropoutMask, checkLoraScale, MAX_LORA_SCALE, type LoraLayer, type LoraLayerAdapter, type LoraDropout } from './lora.js';
export {
  loadLora,
  openLora,
  parseLoraKey,
  checkLoraConfig,
  setLoraAdapters,
  activeLoraAdapters,
  fuseLora,
  unfuseLora,
  unloadLora,
  loraAdapterNames,
  LORA_WEIGHT_NAMES,
  type LoadLoraOptions,
  type LoraSourceOptions,
  type LoraLoadReport,
  type LoraComponent,
  type OpenedLora,
} from './lora-load.js';
export { LoraModule, type LoraTarget, type ModelLoraOptions } from './lora-module.js';
export { addLora, loraStateDict, saveLora, setLoraTraining, hasLoraDropout, type LoraInitOptions, type SaveLoraOptions } from './lora-train.js';
