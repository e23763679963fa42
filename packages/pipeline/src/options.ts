import type { HubDownloadOptions, WeightDType } from '@sdxs/core';

/** `compile`: a graph backend (ort-*) compiling a model part (detail: `unet`, `vae.decode`, ...) for a new shape. */
export type PipelineStage = 'load' | 'download' | 'compile' | 'refine' | 'encode' | 'denoise' | 'decode' | 'upscale';

export interface PipelineProgress {
  stage: PipelineStage;
  /** units done in this stage (steps, tokens, tiles, tensors or bytes) */
  done: number;
  total: number;
  /** what is being worked on, e.g. a file or component */
  detail?: string;
}

export interface SdxsPipelineOptions extends Pick<HubDownloadOptions, 'revision' | 'cacheDir' | 'token' | 'endpoint' | 'offline'> {
  /** tensor backend to select before loading ('auto' picks the best available); default: keep the current one */
  backend?: string;
  /**
   * weight storage (see WeightDType): default float32, 'source' (16-bit checkpoints stay 16-bit) on the ort-*
   * backends, and 'half' on tfjs-wasm, whose 4 GiB memory cannot
   * hold the 1.7 B UNet or the 2 B text tower in float32
   */
  dtype?: WeightDType;
  /** free the text encoder right after encoding prompts (default true: it is the second-largest part) */
  releaseTextEncoder?: boolean;
  onProgress?: (p: PipelineProgress) => void;
  signal?: AbortSignal;
}

export interface RefineOptions {
  /** instruction placed before the prompt (default: the SDXS instruction) */
  instruction?: string;
  temperature?: number;
  maxNewTokens?: number;
  seed?: number;
}

/** 8-bit RGB(A) pixels, interleaved. */
export interface ImagePromptInput {
  width: number;
  height: number;
  /** 3 (default) or 4 */
  channels?: number;
  data: Uint8Array | Uint8ClampedArray;
}

export interface GenerateOptions {
  /** the text prompt(s); with `imagePrompt`, one optional text that follows the image */
  prompt?: string | readonly string[];
  /**
   * Condition on a picture instead of (or with) text: it goes through the text encoder's vision tower, as SDXS's
   * experimental image-to-image mode does (experimental in the model itself: results vary).
   */
  imagePrompt?: ImagePromptInput;
  negativePrompt?: string | readonly string[];
  /** default 1024; multiple of 16 */
  width?: number;
  /** default 1024; multiple of 16 */
  height?: number;
  /** default 40 */
  steps?: number;
  /** default 4; ≤ 1 turns classifier-free guidance off */
  guidanceScale?: number;
  /** image i uses seed + i (default: random) */
  seed?: number;
  /** images per prompt, default 1 */
  batch?: number;
  /** rewrite the prompt with the prompt refiner first */
  refine?: boolean | RefineOptions;
  /** run the VAE 2x upscale on the result */
  upscale?: boolean;
  /** img2img: an RGB(A) 8-bit image, resized to width x height */
  image?: { width: number; height: number; channels: number; data: Uint8Array | Uint8ClampedArray };
  /** img2img strength in (0, 1]: 1 ignores the image (default 0.6) */
  strength?: number;
  /**
   * VAE decode tile edge in pixels of the half-size image (multiple of 8; 0 = one pass). Default: one pass,
   * except on tfjs-wasm above 640x640 px output (256, whose 4 GiB memory cannot hold a 1024 px decode).
   */
  decodeTile?: number;
  onProgress?: (p: PipelineProgress) => void;
  signal?: AbortSignal;
}

/** The model card's defaults. */
export const GENERATION_DEFAULTS = { width: 1024, height: 1024, steps: 40, guidanceScale: 4, batch: 1, strength: 0.6 } as const;
