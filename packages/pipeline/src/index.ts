export { SdxsPipeline, type GenerateResult } from './pipeline.js';
export type { PipelineLoraOptions } from './lora.js';
export { GENERATION_DEFAULTS, type GenerateOptions, type SdxsPipelineOptions, type PipelineProgress, type PipelineStage, type RefineOptions, type ImagePromptInput } from './options.js';
export { GeneratedImage, planarToRgb8, rgb8ToTensor, toUnitRange, type RgbImage } from './images.js';
export { encodePng, readPngText, type PngImage } from './png.js';
export { SDXS_COMPONENTS, DEFAULT_MODEL, resolveComponent, resolveModelRoot, downloadModel, type SdxsComponent } from './model-files.js';
export {
  makeTinyModel,
  writeSdxsModelFolder,
  tinyTextConfig,
  tinyWeights,
  parameterTensors,
  tinyVisionParts,
  TINY_CHAT_TEMPLATE,
  type SdxsFolderOptions,
  type FolderSource,
  type FolderComponent,
  type ComponentWeights,
} from './tiny-model.js';
export { exportSdxsOnnx, ONNX_COMPONENTS, type ExportSdxsOnnxOptions, type OnnxComponent, type OnnxComponentEntry, type OnnxModelIndex } from './export-onnx.js';
