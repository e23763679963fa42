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
export { ChatTemplate, type ChatMessage, type ChatContentPart, type RenderChatOptions } from './chat-template.js';
