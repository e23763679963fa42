/**
 * `window.sdxs`: the page's work without clicking through the UI, with plain arrays in and out (what
 * Playwright can pass). The work runs in the page's model worker, as the UI's does. Used by
 * test/browser.test.ts; handy from the devtools console too.
 */
import type { SdxsGenerateRequest, SdxsProgress } from '@sdxs/pipeline/worker-client';
import type { BackendChoice } from './auto-order.js';
import { pageClient, startedClient } from './page-client.js';
import { noteJobBackend, useBackend, type WeightDtype } from './settings.js';

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

/** The worker's generate request with plain arrays (the page picks the backend). */
export type HookGenerateRequest = Omit<SdxsGenerateRequest, 'backend' | 'imagePrompt'> & {
  /** an image prompt: interleaved 8-bit samples (0..255) */
  imagePrompt?: { width: number; height: number; channels: 3 | 4; data: number[] };
};

export interface HookImage {
  width: number;
  height: number;
  channels: number;
  /** interleaved (upscale) or planar [3, H, W] (generate) samples in [0, 1] */
  data: number[];
  backend: string;
  /** where the job ran: 'worker' (the page's model worker) or 'main' (the page's thread) */
  thread: string;
  /** time the worker spent on the job */
  ms: number;
  /** progress events seen, e.g. 'load vae 3/41', 'denoise 1/2' */
  progress: string[];
}

export interface HookCancelled {
  /** the rejection's name, e.g. 'AbortError' */
  error: string;
  /** the denoising steps reported before the rejection */
  steps: number[];
  /** from the abort to the rejection (the worker stopping at its next step) */
  msToStop: number;
}

export interface SdxsHook {
  /** start a backend ('auto' = WebGPU → wasm → cpu) in the model worker; returns the one in use */
  useBackend(choice: BackendChoice): Promise<string>;
  /** the backend the model worker reported last ('' before any) */
  backend(): string;
  /** where the models run: 'worker', or 'main' when no worker started (and why) */
  thread(): Promise<{ thread: string; fallbackReason?: string }>;
  upscale(req: HookUpscaleRequest): Promise<HookImage>;
  generate(req: HookGenerateRequest): Promise<HookImage>;
  /** a generation aborted (its AbortSignal) once `afterSteps` denoising steps were reported */
  generateAndCancel(req: HookGenerateRequest & { afterSteps: number }): Promise<HookCancelled>;
}

function line(e: SdxsProgress): string | null {
  switch (e.kind) {
    case 'load':
      return `load ${e.part} ${e.loaded}/${e.total}`;
    case 'tile':
      return `${e.stage} ${e.done}/${e.total}`;
    case 'pipeline':
      return `${e.stage}${e.detail ? ` ${e.detail}` : ''} ${e.done}/${e.total}`;
    default:
      return null;
  }
}

function recorder(progress: string[]): (e: SdxsProgress) => void {
  return (e) => {
    noteJobBackend(e);
    const l = line(e);
    if (l) progress.push(l);
  };
}

function generateRequest(req: HookGenerateRequest) {
  const ip = req.imagePrompt;
  return {
    ...req,
    imagePrompt: ip ? { width: ip.width, height: ip.height, channels: ip.channels, data: Uint8Array.from(ip.data) } : undefined,
    negativePrompt: req.negativePrompt ?? '',
    dtype: req.dtype ?? 'float32',
  };
}

export function installTestHook(): SdxsHook {
  const hook: SdxsHook = {
    useBackend: (choice) => useBackend(choice),
    backend: () => startedClient()?.client.backend?.name ?? '',
    thread: async () => {
      const { thread, fallbackReason } = await pageClient();
      return fallbackReason ? { thread, fallbackReason } : { thread };
    },
    async upscale(req) {
      const progress: string[] = [];
      const { client } = await pageClient();
      const out = await client.upscale(
        { modelUrl: req.modelUrl, dtype: req.dtype ?? 'float32', image: { width: req.width, height: req.height, channels: req.channels, data: Float32Array.from(req.data) }, tile: req.tile },
        { onProgress: recorder(progress), transferInput: true },
      );
      const { image } = out;
      return { width: image.width, height: image.height, channels: image.channels, data: Array.from(image.data), backend: out.backend.name, thread: out.thread, ms: out.ms, progress };
    },
    async generate(req) {
      const progress: string[] = [];
      const { client } = await pageClient();
      const img = await client.generate(generateRequest(req), { onProgress: recorder(progress), transferInput: true });
      return { width: img.width, height: img.height, channels: 3, data: Array.from(img.planar), backend: img.backend.name, thread: img.thread, ms: img.ms, progress };
    },
    async generateAndCancel({ afterSteps, ...req }) {
      const { client } = await pageClient();
      const controller = new AbortController();
      const steps: number[] = [];
      let abortedAt = 0;
      const onProgress = (e: SdxsProgress): void => {
        if (e.kind !== 'pipeline' || e.stage !== 'denoise') return;
        steps.push(e.done);
        if (e.done >= afterSteps && !controller.signal.aborted) {
          abortedAt = performance.now();
          controller.abort(new DOMException('cancelled', 'AbortError'));
        }
      };
      try {
        await client.generate(generateRequest(req), { onProgress, signal: controller.signal });
        return { error: 'none: the run finished', steps, msToStop: 0 };
      } catch (e) {
        return { error: e instanceof Error ? e.name : String(e), steps, msToStop: performance.now() - abortedAt };
      }
    },
  };
  (globalThis as { sdxs?: SdxsHook }).sdxs = hook;
  return hook;
}
