/**
 * The worker side: answers SdxsRequest messages by starting a backend, loading models and running upscale and
 * text-to-image jobs, one at a time, reporting progress and moving result pixels back as transferables.
 * DOM-free (it runs in a dedicated worker, in Node, or on a page's own thread behind a MessageChannel).
 */
import * as C from '@sdxs/core';
import { upscale, type Raster, type SampleArray } from '@sdxs/vae';
import { encodePng } from '../png.js';
import { ModelCache } from './models.js';
import {
  currentThread,
  errorToData,
  transferableBuffer,
  type SdxsBackendInfo,
  type SdxsGenerateRequest,
  type SdxsGenerateResult,
  type SdxsMessagePort,
  type SdxsProgress,
  type SdxsRequest,
  type SdxsResponse,
  type SdxsUpscaleRequest,
  type SdxsUpscaleResult,
} from './protocol.js';

/** What starting a backend by choice found (see `SdxsWorkerHandlerOptions.startBackend`). */
export interface SdxsBackendStart {
  /** the backend now current in @sdxs/core */
  name: string;
  failed?: string[];
  passedOver?: string[];
  adapter?: { label: string; software: boolean } | null;
}

export interface SdxsWorkerHandlerOptions {
  /**
   * Makes `choice` ('auto' or a name) the current @sdxs/core backend; throw (with `failed: string[]` for each
   * backend tried, if you like) when none starts. Default: `C.setBackend(choice)`. A page passes its own to
   * hand core a bundled onnxruntime-web (`C.useOnnxRuntimeWeb`) and point it at its .wasm first.
   */
  startBackend?: (choice: string) => Promise<SdxsBackendStart>;
  /** the backend a job that names none starts when none is running yet (default 'auto') */
  defaultBackend?: string;
}

export type SdxsPost = (message: SdxsResponse, transfer: Transferable[]) => void;

export interface SdxsWorkerHandler {
  /** Answers one request through `post` (jobs run one after another; 'cancel' acts at once). */
  handle(request: SdxsRequest, post: SdxsPost): Promise<void>;
  /** Serves every request that arrives on `port` (a worker's `self`, a MessagePort) and says 'ready' on it; returns a stop function. */
  listen(port: SdxsMessagePort): () => void;
  /** Frees the loaded models. */
  dispose(): Promise<void>;
}

class JobAborted extends Error {
  constructor() {
    super('cancelled');
    this.name = 'AbortError';
  }
}

/** [3, H, W] planar floats in [0, 1] → interleaved 8-bit RGBA, alpha 255 (rounded as planarToRgb8 does). */
export function planarToRgba8(planar: Float32Array, width: number, height: number): Uint8ClampedArray {
  const n = width * height;
  const out = new Uint8ClampedArray(n * 4);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) out[i * 4 + c] = Math.round(Math.min(1, Math.max(0, planar[c * n + i]!)) * 255);
    out[i * 4 + 3] = 255;
  }
  return out;
}

async function defaultStart(choice: string): Promise<SdxsBackendStart> {
  await C.setBackend(choice);
  return { name: C.getBackend() };
}

function isSdxsRequest(x: unknown): x is SdxsRequest {
  const m = x as { type?: unknown; id?: unknown } | null;
  return typeof m === 'object' && m !== null && typeof m.type === 'string' && typeof m.id === 'number';
}

/** The worker side of the protocol; see `SdxsWorkerClient` for the other. */
export function createSdxsWorkerHandler(options: SdxsWorkerHandlerOptions = {}): SdxsWorkerHandler {
  const start = options.startBackend ?? defaultStart;
  const models = new ModelCache();
  const thread = currentThread();
  let started: SdxsBackendInfo | null = null;
  /** backend starts and jobs, one after another */
  let queue: Promise<unknown> = Promise.resolve();
  const running = new Map<number, AbortController>();

  /** Makes `choice` current; a start that lands on another backend frees the models first loaded on the old one. */
  async function useBackend(choice: string | undefined): Promise<SdxsBackendInfo> {
    // a job that names no backend runs on the one running
    if (started && (choice === undefined || choice === started.choice)) return { ...started, started: false };
    const want = choice ?? options.defaultBackend ?? 'auto';
    let got: SdxsBackendStart;
    try {
      got = await start(want);
    } catch (e) {
      throw Object.assign(e instanceof Error ? e : new Error(String(e)), { sdxsKind: 'backend-start' as const });
    }
    if (started && started.name !== got.name) await models.releaseAll();
    started = {
      choice: want,
      name: got.name,
      compute: C.computeOf(C.currentBackend()),
      failed: got.failed ?? [],
      passedOver: got.passedOver ?? [],
      adapter: got.adapter ?? null,
      started: true,
      thread,
    };
    return started;
  }

  async function runUpscale(req: SdxsUpscaleRequest, signal: AbortSignal, report: (e: DistributiveOmit<SdxsProgress, 'ms'>) => void): Promise<Omit<SdxsUpscaleResult, 'ms'>> {
    const backend = await useBackend(req.backend);
    if (backend.started) report({ kind: 'backend', info: backend });
    const dtype = req.dtype ?? 'float16';
    const vae = await models.getVae(req.modelUrl, dtype, (p) => report({ kind: 'load', part: 'vae', loaded: p.loaded, total: p.total }));
    if (signal.aborted) throw new JobAborted();
    report({ kind: 'loaded', part: 'vae' });
    const off = C.onCompile((e) => report({ kind: 'compile', phase: e.phase, label: e.label }));
    let image: Raster<SampleArray>;
    try {
      image = await upscale(vae, req.image, {
        tile: req.tile,
        signal,
        onProgress: (p) => {
          if (p.stage !== 'frame') report({ kind: 'tile', stage: p.stage, done: p.done, total: p.total, fraction: p.fraction, etaMs: p.etaMs });
        },
      });
    } finally {
      off();
    }
    const d = image.data;
    const png = req.png && (d instanceof Uint8Array || d instanceof Uint8ClampedArray) ? await encodePng({ width: image.width, height: image.height, channels: image.channels, data: d instanceof Uint8Array ? d : new Uint8Array(d.buffer, d.byteOffset, d.byteLength) }) : undefined;
    return { image, ...(png ? { png } : {}), backend, thread };
  }

  async function runGenerate(req: SdxsGenerateRequest, signal: AbortSignal, report: (e: DistributiveOmit<SdxsProgress, 'ms'>) => void): Promise<Omit<SdxsGenerateResult, 'ms'>> {
    const backend = await useBackend(req.backend);
    if (backend.started) report({ kind: 'backend', info: backend });
    const dtype = req.dtype ?? 'float16';
    return models.withPipelineProgress(
      (p) => report({ kind: 'pipeline', stage: p.stage, done: p.done, total: p.total, ...(p.detail ? { detail: p.detail } : {}) }),
      async () => {
        const pipe = await models.getPipeline(req.modelUrl, dtype);
        if (signal.aborted) throw new JobAborted();
        const { images } = await pipe.generate({
          prompt: req.prompt,
          imagePrompt: req.imagePrompt,
          negativePrompt: req.negativePrompt ?? '',
          width: req.width,
          height: req.height,
          steps: req.steps,
          guidanceScale: req.guidanceScale,
          seed: req.seed,
          signal,
        });
        const img = images[0]!;
        return {
          width: img.width,
          height: img.height,
          rgba: planarToRgba8(img.planar, img.width, img.height),
          planar: img.planar,
          png: await img.toPng(),
          parameters: { ...img.parameters },
          backend,
          thread,
        };
      },
    );
  }

  function fail(id: number, e: unknown, signal: AbortSignal | undefined, post: SdxsPost): void {
    const aborted = signal?.aborted || (e instanceof Error && (e.name === 'AbortError' || (e as { code?: unknown }).code === 'ABORTED'));
    const kind = aborted ? 'abort' : (e as { sdxsKind?: unknown } | null)?.sdxsKind === 'backend-start' ? 'backend-start' : 'error';
    post({ type: 'error', id, error: errorToData(e, kind) }, []);
  }

  /** Runs `work` after everything queued before it. */
  function enqueue(work: () => Promise<void>): Promise<void> {
    const run = queue.then(work, work);
    queue = run.catch(() => undefined);
    return run;
  }

  async function handle(request: SdxsRequest, post: SdxsPost): Promise<void> {
    const { id } = request;
    switch (request.type) {
      case 'cancel':
        running.get(id)?.abort(new JobAborted());
        return;
      case 'backend':
        return enqueue(async () => {
          try {
            post({ type: 'backend', id, info: await useBackend(request.choice) }, []);
          } catch (e) {
            fail(id, e, undefined, post);
          }
        });
      case 'release':
        return enqueue(async () => {
          await models.releaseAll();
          post({ type: 'released', id }, []);
        });
      case 'upscale':
      case 'generate': {
        // registered now, so that a cancel for a job still waiting in the queue lands
        const controller = new AbortController();
        running.set(id, controller);
        const { signal } = controller;
        return enqueue(async () => {
          const t0 = performance.now();
          const report = (e: DistributiveOmit<SdxsProgress, 'ms'>): void => {
            if (!signal.aborted) post({ type: 'progress', id, event: { ...e, ms: performance.now() - t0 } as SdxsProgress }, []);
          };
          try {
            if (signal.aborted) throw new JobAborted();
            if (request.type === 'upscale') {
              const r = await runUpscale(request.request, signal, report);
              const result: SdxsUpscaleResult = { ...r, ms: performance.now() - t0 };
              post({ type: 'upscaled', id, result }, [...transferableBuffer(result.image.data), ...(result.png ? transferableBuffer(result.png) : [])]);
            } else {
              const r = await runGenerate(request.request, signal, report);
              const result: SdxsGenerateResult = { ...r, ms: performance.now() - t0 };
              post({ type: 'generated', id, result }, [...transferableBuffer(result.rgba), ...transferableBuffer(result.planar), ...transferableBuffer(result.png)]);
            }
          } catch (e) {
            fail(id, e, signal, post);
          } finally {
            running.delete(id);
          }
        });
      }
    }
  }

  function listen(port: SdxsMessagePort): () => void {
    const post: SdxsPost = (m, transfer) => port.postMessage(m, transfer);
    const onMessage = (ev: MessageEvent): void => {
      const data: unknown = ev.data;
      if (isSdxsRequest(data)) void handle(data, post);
    };
    port.addEventListener('message', onMessage);
    port.start?.();
    post({ type: 'ready', thread }, []);
    return () => port.removeEventListener('message', onMessage);
  }

  return { handle, listen, dispose: () => models.releaseAll() };
}

/** Omit over each member of a union. */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
