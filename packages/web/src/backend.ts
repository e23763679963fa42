/**
 * Picking the tensor backend in the page: compiled ONNX Runtime Web on WebGPU first (ort-webgpu), then
 * ONNX Runtime's wasm provider (ort-cpu), then TensorFlow.js WebGPU and wasm, then the pure-JS cpu backend.
 */
import * as C from '@sdxs/core';
import * as ortWeb from 'onnxruntime-web/webgpu';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { BackendStartError } from './diagnose.js';

export const BACKEND_ORDER = ['ort-webgpu', 'ort-cpu', 'tfjs-webgpu', 'tfjs-wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_ORDER)[number];
export type BackendChoice = 'auto' | BackendName;

/** What runs the work for each backend: the engine and, for ONNX Runtime, its execution provider. */
export const BACKEND_PROVIDERS: Record<BackendName, { provider: string; gpu: boolean }> = {
  'ort-webgpu': { provider: 'ONNX Runtime Web, WebGPU execution provider', gpu: true },
  'ort-cpu': { provider: 'ONNX Runtime Web, wasm execution provider (CPU)', gpu: false },
  'tfjs-webgpu': { provider: 'TensorFlow.js, WebGPU', gpu: true },
  'tfjs-wasm': { provider: 'TensorFlow.js, wasm (CPU)', gpu: false },
  cpu: { provider: 'plain JavaScript (CPU, slow)', gpu: false },
};

export function isBackendChoice(s: string | null): s is BackendChoice {
  return s === 'auto' || (BACKEND_ORDER as readonly string[]).includes(s ?? '');
}

let wasmReady = false;

/** tfjs-wasm looks for its .wasm files next to the script unless told: point it at the bundled copies. */
async function prepare(name: BackendName): Promise<void> {
  // core runs its ort-* backends on the onnxruntime-web module bundled with the page
  if (name.startsWith('ort-')) C.useOnnxRuntimeWeb(ortWeb);
  if (name !== 'tfjs-wasm' || wasmReady) return;
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  wasm.setWasmPaths({ 'tfjs-backend-wasm.wasm': wasmPlain, 'tfjs-backend-wasm-simd.wasm': wasmSimd, 'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded });
  wasmReady = true;
}

export interface BackendStart {
  name: BackendName;
  /** backends tried first that failed, with why */
  failed: string[];
}

/** Starts the chosen backend ('auto': the first of BACKEND_ORDER that starts) and makes it current. */
export async function startBackend(choice: BackendChoice): Promise<BackendStart> {
  const failed: string[] = [];
  for (const name of choice === 'auto' ? BACKEND_ORDER : [choice]) {
    try {
      await prepare(name);
      await C.setBackend(name);
      return { name, failed };
    } catch (e) {
      failed.push(`${name}: ${(e as Error).message}`);
    }
  }
  throw new BackendStartError(failed);
}
