/**
 * Image prompts for SDXS (the model card's experimental image-to-image mode): the picture goes through
 * Qwen3.5's vision tower and its features replace the image placeholders of a chat message built by the
 * tokenizer's chat template, exactly as transformers' processor + Qwen3_5Model do; the text model then runs with
 * the multimodal rope positions.
 */
import * as C from '@sdxs/core';
import { parseQwen35Config } from '../config.js';
import { loadCheckpointInto, type Qwen35LoadOptions } from '../model/load.js';
import type { QwenTokenizer } from '../tokenizer.js';
import { parseQwen35MultimodalTokens, parseQwen35VisionConfig, type Qwen35MultimodalTokens } from '../vision/config.js';
import { Qwen35ImageProcessor, parseImageProcessorConfig, type ImageInput } from '../vision/image-processor.js';
import type { GridThw } from '../vision/positions.js';
import { Qwen35VisionModel } from '../vision/vision-model.js';

/** An image, optionally with text after it in the same user message. */
export interface ImagePrompt {
  image: ImageInput;
  text?: string;
}

/** What an encoder or refiner needs to take images. */
export interface SdxsVision {
  model: Qwen35VisionModel;
  processor: Qwen35ImageProcessor;
  tokens: Qwen35MultimodalTokens;
}

export const isImagePrompt = (v: unknown): v is ImagePrompt => typeof v === 'object' && v !== null && !Array.isArray(v) && 'image' in v;

/**
 * Loads the vision tower of `textEncoderDir` (its config.json's `vision_config`, `model.visual.*` of its
 * checkpoint) and the image processor from the first of `processorDirs` that holds `preprocessor_config.json`.
 */
export async function loadSdxsVision(textEncoderDir: string, processorDirs: readonly string[], options: Pick<Qwen35LoadOptions, 'dtype' | 'signal' | 'onProgress'> = {}): Promise<SdxsVision> {
  const file = `${textEncoderDir}/config.json`;
  const json = await C.loadConfig(textEncoderDir);
  const vision = parseQwen35VisionConfig(json, file);
  const text = parseQwen35Config(json, file);
  if (vision.outHiddenSize !== text.hiddenSize) throw new C.ConfigError(`${file}: 'vision_config.out_hidden_size' (${vision.outHiddenSize}) must equal the text hidden_size (${text.hiddenSize})`);
  const tokens = parseQwen35MultimodalTokens(json, file);
  let processor: Qwen35ImageProcessor | null = null;
  for (const dir of processorDirs) {
    const found = await C.loadConfig(dir, undefined, 'preprocessor_config.json').then((j) => ({ j, dir }), () => null);
    if (found) {
      processor = new Qwen35ImageProcessor(parseImageProcessorConfig(found.j, `${found.dir}/preprocessor_config.json`));
      break;
    }
  }
  if (!processor) throw new C.ConfigError(`no preprocessor_config.json in ${processorDirs.join(' or ')}: the image processor's settings are needed for image prompts`);
  const model = new Qwen35VisionModel(vision);
  await loadCheckpointInto(textEncoderDir, model, (files) => model.loadFrom(files, options));
  return { model, processor, tokens };
}

/**
 * Token ids of one user message holding the image (and the text) through the chat template, each image
 * placeholder expanded to the image's merged token count (what the reference processor does).
 */
export function imageMessageIds(tokenizer: QwenTokenizer, vision: SdxsVision, grid: GridThw, text: string | undefined, opts: { enableThinking?: boolean; prefix?: string } = {}): number[] {
  const content = [{ type: 'image' }, ...(text !== undefined && text !== '' ? [{ type: 'text', text }] : [])];
  if (opts.prefix) content.unshift({ type: 'text', text: opts.prefix });
  const ids = tokenizer.applyChatTemplate([{ role: 'user', content }], { addGenerationPrompt: true, enableThinking: opts.enableThinking, tokenize: true }) as number[];
  const { imageTokenId } = vision.tokens;
  const merge = vision.model.config.spatialMergeSize;
  const n = (grid[0] * grid[1] * grid[2]) / (merge * merge);
  const out: number[] = [];
  let placed = 0;
  for (const id of ids) {
    if (id === imageTokenId) {
      for (let i = 0; i < n; i++) out.push(id);
      placed++;
    } else out.push(id);
  }
  if (placed !== 1) {
    throw new C.ConfigError(`the chat template placed ${placed} image placeholders (token id ${imageTokenId}) for one image: it must render { type: 'image' } content as <|vision_start|><|image_pad|><|vision_end|>`);
  }
  return out;
}
