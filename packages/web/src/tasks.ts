/** What the two tabs (and the test hook) run: DOM-free, plain data in and out. */
import * as C from '@sdxs/core';
import type { PipelineProgress } from '@sdxs/pipeline';
import { upscale, type Raster, type SampleArray, type UpscaleProgress } from '@sdxs/vae';
import { getPipeline, getVae, withPipelineProgress, type LoadProgress, type WeightDtype } from './models.js';

export interface UpscaleTask<T extends SampleArray> {
  modelUrl: string;
  dtype: WeightDtype;
  image: Raster<T>;
  /** tile edge in input pixels (default: @sdxs/vae's) */
  tile?: number;
  onLoad?: (p: LoadProgress) => void;
  onTile?: (p: UpscaleProgress) => void;
  /** the weights are loaded; the tiles (and, on ort-*, compiling the encoder and decoder graphs) come next */
  onLoaded?: () => void;
  /** a graph backend (ort-*) compiling a part (`vae.encode`, `vae.decode`) for the tile shape */
  onCompile?: (e: C.CompileEvent) => void;
  signal?: AbortSignal;
}

/** 2x upscale with the model's VAE: exactly 2W x 2H, same sample type and channels as the input. */
export async function runUpscale<T extends SampleArray>(task: UpscaleTask<T>): Promise<Raster<T>> {
  const vae = await getVae(task.modelUrl, task.dtype, task.onLoad);
  task.onLoaded?.();
  const off = task.onCompile ? C.onCompile(task.onCompile) : undefined;
  try {
    return await upscale(vae, task.image, { tile: task.tile, onProgress: task.onTile, signal: task.signal });
  } finally {
    off?.();
  }
}

export interface GenerateTask {
  modelUrl: string;
  dtype: WeightDtype;
  prompt: string;
  negativePrompt: string;
  width: number;
  height: number;
  steps: number;
  guidanceScale: number;
  seed: number;
  /** condition on this picture (experimental in SDXS); `prompt` is then optional text after it */
  imagePrompt?: Raster<Uint8ClampedArray | Uint8Array>;
  onProgress?: (p: PipelineProgress) => void;
  signal?: AbortSignal;
}

export interface GeneratedPixels {
  width: number;
  height: number;
  /** [3, H, W] planar floats in [0, 1] */
  planar: Float32Array;
  /** PNG with the generation parameters in its text chunks */
  png: () => Promise<Uint8Array>;
}

/** Text (or image prompt) to image with SdxsPipeline, one image. */
export async function runGenerate(task: GenerateTask): Promise<GeneratedPixels> {
  const report = task.onProgress ?? ((): void => {});
  return withPipelineProgress(report, async () => {
    const pipe = await getPipeline(task.modelUrl, task.dtype);
    const ip = task.imagePrompt;
    const { images } = await pipe.generate({
      prompt: task.prompt,
      imagePrompt: ip ? { width: ip.width, height: ip.height, channels: ip.channels, data: ip.data } : undefined,
      negativePrompt: task.negativePrompt,
      width: task.width,
      height: task.height,
      steps: task.steps,
      guidanceScale: task.guidanceScale,
      seed: task.seed,
      signal: task.signal,
    });
    const img = images[0]!;
    return { width: img.width, height: img.height, planar: img.planar, png: () => img.toPng() };
  });
}
