export {
  QwenTokenizer,
  type JsonFile,
  type QwenTokenizerFiles,
  type FromPretrainedOptions,
  type EncodeOptions,
  type DecodeOptions,
  type EncodeBatchOptions,
  type BatchEncoding,
  type ApplyChatTemplateOptions,
} from './tokenizer.js';
export { regexBacktrackingProblem, checkTokenizerJson } from './tokenizer-checks.js';
export { ChatTemplate, type ChatMessage, type ChatContentPart, type RenderChatOptions } from './chat-template.js';
export { parseQwen35Config, type Qwen35TextConfig, type Qwen35LayerType } from './config.js';
export { Qwen35TextModel, type InputIds, type TextForwardOptions, type TextModelOutput } from './model/text-model.js';
export { Qwen35ForCausalLM, type CausalLMForwardOptions, type CausalLMOutput, type GenerateOptions, type MultimodalPrefill } from './model/causal-lm.js';
export { Qwen35Cache } from './model/cache.js';
export type { Qwen35LoadOptions } from './model/load.js';
export type { AttentionMaskInput } from './model/masks.js';
export type { DeltaRuleMode, LinearAttentionState } from './model/gated-deltanet.js';
export type { KeyValueState } from './model/attention.js';
export type { SamplingOptions } from './model/sampling.js';
export { SdxsTextEncoder, padConditioning, SDXS_MAX_LENGTH, type SdxsConditioning, type SdxsTextEncoderOptions, type SdxsTextEncoderLoadOptions } from './sdxs/text-encoder.js';
export { refinePrompt, refinerPromptIds, PromptRefiner, SDXS_REFINER_INSTRUCTION, SDXS_CAPTION_INSTRUCTION, type RefinePromptOptions, type PromptRefinerLoadOptions } from './sdxs/refiner.js';
export { parseQwen35VisionConfig, parseQwen35MultimodalTokens, hasVisionConfig, type Qwen35VisionConfig, type Qwen35MultimodalTokens } from './vision/config.js';
export { Qwen35VisionModel, VISION_PREFIX, type VisionOutput, type ImageGridInput } from './vision/vision-model.js';
export type { GridThw } from './vision/positions.js';
export type { MultimodalPositions } from './model/rope.js';
export type { RopeIndex } from './vision/rope-index.js';
export { Qwen35Model, parseQwen35ModelConfig, type Qwen35ModelConfig, type MultimodalInputs, type MultimodalIds } from './model/qwen35-model.js';
export { Qwen35ImageProcessor, parseImageProcessorConfig, smartResize, type ImageInput, type ProcessedImage, type Qwen35ImageProcessorConfig } from './vision/image-processor.js';
export { resizeBicubicPil } from './vision/pil-bicubic.js';
export { loadSdxsVision, imageMessageIds, type ImagePrompt, type SdxsVision } from './sdxs/image-prompt.js';
