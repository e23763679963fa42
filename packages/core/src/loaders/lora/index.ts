/**
 * LoRA files: loading shared adapters onto a model (diffusers/PEFT and kohya key formats, their mapping onto
 * the model's layers) and the model-level adapter operations, new trainable adapters and saving them. The
 * layer side (LoraSlots on Linear / Conv2d) and the LoraModule mixin stay in nn.
 */
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
} from './load.js';
export { addLora, loraStateDict, saveLora, setLoraTraining, hasLoraDropout, type LoraInitOptions, type SaveLoraOptions } from './train.js';
