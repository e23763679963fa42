/**
 * `window.sdxs`: the page's work without clicking through the UI, with plain arrays in and out (what
 * Playwright can pass). Used by test/browser.test.ts; handy from the devtools console too.
 */
import * as C from '@sdxs/core';
import type { BackendChoice } from './backend.js';
import { useBackend } from './settings.js';
import type { WeightDtype } from './models.js';
import { runGenerate, runUpscale } from './tasks.js';

export interface HookUpscaleRequest {
  modelUrl: string;
  dtype?: WeightDtype;
  width: number;
  height: number;
  channels: 3 | 4;
  /** interleaved samples in [0, 1] */
  data: number[];
  tile?: number;
}

export interface HookGenerateRequest {
  modelUrl: string;
  dtype?: WeightDtype;
  prompt: string;
  negativePrompt?: string;
  width: number;
  height: number;
  steps: number;
  guidanceScale: number;
  seed: number;
  /** an image prompt: interleaved 8-bit samples (0..255) */
  imagePrompt?: { width: number; height: number; channels: 3 | 4; data: number[] };
}

export interface HookImage {
  width: number;
  height: number;
  channels: number;
  /** interleaved (upscale) or planar [3, H, W] (generate) samples in [0, 1] */
  data: number[];
  backend: string;
  ms: number;
  /** progress events seen, e.g. 'load vae 3/41', 'denoise 1/2' */
  progress: string[];
}

export interface SdxsHook {
  /** start a backend ('auto' = WebGPU → wasm → cpu); returns the one in use */
  useBackend(choice: BackendChoice): Promise<string>;
  backend(): string;
  upscale(req: HookUpscaleRequest): Promise<HookImage>;
  generate(req: HookGenerateRequest): Promise<HookImage>;
}

export function installTestHook(): SdxsHook {
  const hook: SdxsHook = {
    useBackend: (choice) => useBackend(choice),
    backend: () => C.getBackend(),
    async upscale(req) {
      const progress: string[] = [];
      const t0 = performance.now();
      const out = await runUpscale({
        modelUrl: req.modelUrl,
        dtype: req.dtype ?? 'float32',
        image: { width: req.width, height: req.height, channels: req.channels, data: Float32Array.from(req.data) },
        tile: req.tile,
        onLoad: (p) => progress.push(`load ${p.part} ${p.loaded}/${p.total}`),
        onTile: (p) => progress.push(`${p.stage} ${p.done}/${p.total}`),
      });
      return { width: out.width, height: out.height, channels: out.channels, data: Array.from(out.data), backend: C.getBackend(), ms: performance.now() - t0, progress };
    },
    async generate(req) {
      const progress: string[] = [];
      const t0 = performance.now();
      const ip = req.imagePrompt;
      const img = await runGenerate({
        ...req,
        imagePrompt: ip ? { width: ip.width, height: ip.height, channels: ip.channels, data: Uint8Array.from(ip.data) } : undefined,
        negativePrompt: req.negativePrompt ?? '',
        dtype: req.dtype ?? 'float32',
        onProgress: (p) => progress.push(`${p.stage}${p.detail ? ` ${p.detail}` : ''} ${p.done}/${p.total}`),
      });
      return { width: img.width, height: img.height, channels: 3, data: Array.from(img.planar), backend: C.getBackend(), ms: performance.now() - t0, progress };
    },
  };
  (globalThis as { sdxs?: SdxsHook }).sdxs = hook;
  return hook;
}
