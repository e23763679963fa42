/**
 * The order `auto` tries the page's backends in: core's automatic order (autoBackendOrder, the CLI's too). A real
 * WebGPU adapter puts the GPU backends first; a software one (SwiftShader, llvmpipe/lavapipe, WARP: tens of times
 * slower than ONNX Runtime's wasm provider on the CPU) puts them last, tried only when nothing else starts. DOM-free.
 */
import { autoBackendOrder } from '@sdxs/core';

/** The backends the page offers. */
const PAGE_BACKENDS = ['ort-webgpu', 'ort-cpu', 'tfjs-webgpu', 'tfjs-wasm', 'cpu'] as const;
export type BackendName = (typeof PAGE_BACKENDS)[number];
export type BackendChoice = 'auto' | BackendName;

/** What runs the work for each backend: the engine and, for ONNX Runtime, its execution provider. */
export const BACKEND_PROVIDERS: Record<BackendName, { provider: string; gpu: boolean }> = {
  'ort-webgpu': { provider: 'ONNX Runtime Web, WebGPU execution provider', gpu: true },
  'ort-cpu': { provider: 'ONNX Runtime Web, wasm execution provider (CPU)', gpu: false },
  'tfjs-webgpu': { provider: 'TensorFlow.js, WebGPU', gpu: true },
  'tfjs-wasm': { provider: 'TensorFlow.js, wasm (CPU)', gpu: false },
  cpu: { provider: 'plain JavaScript (CPU, slow)', gpu: false },
};

export function isBackendName(s: string): s is BackendName {
  return (BACKEND_ORDER as readonly string[]).includes(s);
}

export const WEBGPU_BACKENDS: readonly BackendName[] = ['ort-webgpu', 'tfjs-webgpu'];

const isPageBackend = (s: string): s is BackendName => (PAGE_BACKENDS as readonly string[]).includes(s);

export function isBackendChoice(s: string | null): s is BackendChoice {
  return s === 'auto' || isPageBackend(s ?? '');
}

/** What a WebGPU adapter says about itself (`GPUAdapter.info`, and `isFallbackAdapter` where the browser has it). */
export interface AdapterFacts {
  isFallbackAdapter?: boolean;
  info?: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean };
}

/** Whether the adapter is a software rasteriser rather than a GPU. */
export function isSoftwareAdapter(a: AdapterFacts): boolean {
  if (a.isFallbackAdapter || a.info?.isFallbackAdapter) return true;
  const text = `${a.info?.vendor ?? ''} ${a.info?.architecture ?? ''} ${a.info?.device ?? ''} ${a.info?.description ?? ''}`.toLowerCase();
  return /swiftshader|llvmpipe|lavapipe|softpipe|software|warp|microsoft basic render/.test(text);
}

/** A readable name for the adapter, e.g. 'google swiftshader'. */
export function adapterLabel(a: AdapterFacts): string {
  return [a.info?.vendor, a.info?.architecture || a.info?.description].filter(Boolean).join(' ');
}

/** `auto`'s order of the page's backends: core's, with the WebGPU ones on the software device when the adapter is one. */
export function autoOrder(softwareAdapter: boolean): BackendName[] {
  return autoBackendOrder((name) => softwareAdapter && WEBGPU_BACKENDS.includes(name as BackendName)).filter(isPageBackend);
}

/** The page's backends in the order `auto` tries them on a real GPU. */
export const BACKEND_ORDER: readonly BackendName[] = autoOrder(false);
