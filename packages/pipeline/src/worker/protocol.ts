/**
 * The messages between a page (or any main thread) and a worker that runs SDXS models: plain
 * structured-clone data, pixel buffers moved as transferables. Type-only imports: this file, and the client
 * built on it, load no model code.
 */
import type { Raster, SampleArray } from '@sdxs/vae';
import type { PipelineStage } from '../options.js';

export type WeightDtype = 'float32' | 'float16';

/** Where a handler runs: in a Web Worker (`self instanceof WorkerGlobalScope`), or on the thread that made it. */
export type SdxsThread = 'worker' | 'main';

/** The backend a worker started, and how it got there. */
export interface SdxsBackendInfo {
  /** what was asked for, e.g. 'auto' */
  choice: string;
  /** the backend in use, e.g. 'ort-webgpu' */
  name: string;
  /** what its kernels compute in ('float16' on WebGPU adapters with shader-f16 under ort-webgpu) */
  compute: 'float32' | 'float16' | 'int8';
  /** backends tried first that failed, with why */
  failed: string[];
  /** backends passed over (e.g. WebGPU on a software adapter), with why */
  passedOver: string[];
  /** the WebGPU adapter the worker sees (null: none) */
  adapter: { label: string; software: boolean } | null;
  /** whether this request started it (false: it was running already) */
  started: boolean;
  thread: SdxsThread;
}

export interface SdxsUpscaleRequest<T extends SampleArray = SampleArray> {
  /** model folder URL (laid out like the hub repo); its `vae/` is used */
  modelUrl: string;
  dtype?: WeightDtype;
  /** 'auto' or a backend name; default: the one running (or 'auto' before any) */
  backend?: string;
  image: Raster<T>;
  /** tile edge in input pixels (default: @sdxs/vae's) */
  tile?: number;
  /** also encode the result as PNG (8-bit images only) */
  png?: boolean;
}

export interface SdxsGenerateRequest {
  modelUrl: string;
  dtype?: WeightDtype;
  backend?: string;
  prompt: string;
  negativePrompt?: string;
  width: number;
  height: number;
  steps: number;
  guidanceScale: number;
  seed: number;
  /** condition on this picture (experimental in SDXS); 8-bit RGB or RGBA */
  imagePrompt?: Raster<Uint8Array | Uint8ClampedArray>;
}

/** What a running job reports; `ms` is the time since the worker started the job. */
export type SdxsProgress = { ms: number } & (
  | { kind: 'backend'; info: SdxsBackendInfo }
  | { kind: 'load'; part: string; loaded: number; total: number }
  | { kind: 'loaded'; part: string }
  | { kind: 'compile'; phase: 'start' | 'end'; label: string }
  | { kind: 'tile'; stage: 'encode' | 'decode'; done: number; total: number; fraction: number; etaMs: number | undefined }
  | { kind: 'pipeline'; stage: PipelineStage; done: number; total: number; detail?: string }
);

export interface SdxsUpscaleResult<T extends SampleArray = SampleArray> {
  /** exactly 2W x 2H, same sample type and channels as the input */
  image: Raster<T>;
  /** PNG bytes when asked for */
  png?: Uint8Array;
  backend: SdxsBackendInfo;
  /** time the worker spent on the job */
  ms: number;
  thread: SdxsThread;
}

export interface SdxsGenerateResult {
  width: number;
  height: number;
  /** interleaved 8-bit RGBA (alpha 255): `new ImageData(rgba, width, height)` */
  rgba: Uint8ClampedArray;
  /** [3, H, W] planar floats in [0, 1], the decoder's exact output */
  planar: Float32Array;
  /** PNG with the generation parameters in its text chunks */
  png: Uint8Array;
  parameters: Record<string, string | number | boolean>;
  backend: SdxsBackendInfo;
  ms: number;
  thread: SdxsThread;
}

/** A failure as it crosses the thread boundary. */
export interface SdxsErrorData {
  /** 'abort': cancelled; 'backend-start': no backend of those asked for started */
  kind: 'abort' | 'backend-start' | 'error';
  name: string;
  message: string;
  /** SdxsError's code (e.g. 'MEMORY', 'INPUT') */
  code?: string;
  /** for 'backend-start': each backend tried, with why it failed */
  failed?: string[];
  stack?: string;
}

/** Main thread → worker. */
export type SdxsRequest =
  | { type: 'backend'; id: number; choice: string }
  | { type: 'upscale'; id: number; request: SdxsUpscaleRequest }
  | { type: 'generate'; id: number; request: SdxsGenerateRequest }
  /** abort job `id` (it stops at its next check: a step or a tile) */
  | { type: 'cancel'; id: number }
  /** free every loaded model */
  | { type: 'release'; id: number };

/** Worker → main thread. */
export type SdxsResponse =
  | { type: 'ready'; thread: SdxsThread }
  | { type: 'progress'; id: number; event: SdxsProgress }
  | { type: 'backend'; id: number; info: SdxsBackendInfo }
  | { type: 'upscaled'; id: number; result: SdxsUpscaleResult }
  | { type: 'generated'; id: number; result: SdxsGenerateResult }
  | { type: 'released'; id: number }
  | { type: 'error'; id: number; error: SdxsErrorData };

/** The side of a Worker, a worker's `self` or a MessagePort that both ends need. */
export interface SdxsMessagePort {
  postMessage(message: unknown, transfer: Transferable[]): void;
  addEventListener(type: 'message', listener: (ev: MessageEvent) => void): void;
  removeEventListener(type: 'message', listener: (ev: MessageEvent) => void): void;
  /** MessagePort only: start delivering messages */
  start?(): void;
}

/** Where the handler runs now. */
export function currentThread(): SdxsThread {
  const scope = (globalThis as { WorkerGlobalScope?: abstract new () => unknown }).WorkerGlobalScope;
  return typeof scope === 'function' && globalThis instanceof scope ? 'worker' : 'main';
}

/** An error as data: kind, name, message, code (SdxsError), and the backends tried for a failed start. */
export function errorToData(e: unknown, kind: SdxsErrorData['kind'] = 'error'): SdxsErrorData {
  if (!(e instanceof Error)) return { kind, name: 'Error', message: String(e) };
  const code = (e as { code?: unknown }).code;
  const failed = (e as { failed?: unknown }).failed;
  return {
    kind,
    name: e.name,
    message: e.message,
    ...(typeof code === 'string' ? { code } : {}),
    ...(Array.isArray(failed) && failed.every((f) => typeof f === 'string') ? { failed: [...(failed as string[])] } : {}),
    ...(e.stack ? { stack: e.stack } : {}),
  };
}

/**
 * The buffer of `a` when it can move to the other thread: a view of its whole, ordinary ArrayBuffer
 * (a slice of a bigger buffer, or a SharedArrayBuffer, is copied by the structured clone instead).
 */
export function transferableBuffer(a: ArrayBufferView): ArrayBuffer[] {
  const b = a.buffer;
  return b instanceof ArrayBuffer && a.byteOffset === 0 && a.byteLength === b.byteLength ? [b] : [];
}
