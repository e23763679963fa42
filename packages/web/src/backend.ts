/**
 * Picking the tensor backend, in the page's worker (or on the page's thread when no worker starts): compiled
 * ONNX Runtime Web on WebGPU first (ort-webgpu), then ONNX Runtime's wasm provider (ort-cpu), then TensorFlow.js
 * WebGPU and wasm, then the pure-JS cpu backend; on a software WebGPU adapter `auto` tries the WebGPU backends
 * last (see auto-order.ts). DOM-free.
 */
import * as C from '@sdxs/core';
import * as ortWeb from 'onnxruntime-web/webgpu';
// The .wasm onnxruntime-web's bundle loads: imported as a URL so that Vite serves it in dev too (its
// `new URL(..., import.meta.url)` points into Vite's pre-bundled deps folder there, where the dev server
// answers index.html) and emits it in the build.
import ortWasm from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { autoOrder, WEBGPU_BACKENDS, type BackendChoice, type BackendName } from './auto-order.js';
import { BackendStartError } from './diagnose.js';
import { wasmFileProblem } from './wasm-check.js';
import { webgpuAdapter, type WebGpuAdapter } from './webgpu-adapter.js';

let wasmReady = false;
/** the .wasm check of onnxruntime-web, once per thread */
let ortWasmChecked: Promise<string | null> | undefined;

/** tfjs-wasm looks for its .wasm files next to the script unless told: point it at the bundled copies. */
async function prepare(name: BackendName): Promise<void> {
  // core runs its ort-* backends on the onnxruntime-web module bundled with the page
  if (name.startsWith('ort-')) {
    // ONNX Runtime Web loads its .wasm only when the first graph runs: check it now, so that a server
    // that does not serve it makes this backend fail to start (and `auto` move on) instead of the first run
    const problem = await (ortWasmChecked ??= wasmFileProblem(ortWasm));
    if (problem) throw new Error(`ONNX Runtime Web's wasm is not being served: ${problem}`);
    ortWeb.env.wasm.wasmPaths = { wasm: ortWasm };
    C.useOnnxRuntimeWeb(ortWeb);
  }
  if (name !== 'tfjs-wasm' || wasmReady) return;
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  wasm.setWasmPaths({ 'tfjs-backend-wasm.wasm': wasmPlain, 'tfjs-backend-wasm-simd.wasm': wasmSimd, 'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded });
  wasmReady = true;
}

/** The order `auto` tries backends in here. */
export async function autoBackends(): Promise<BackendName[]> {
  return autoOrder((await webgpuAdapter())?.software ?? false);
}

export interface BackendStart {
  name: BackendName;
  /** backends tried first that failed, with why */
  failed: string[];
  /** WebGPU backends `auto` put last because the adapter is software, with why */
  passedOver: string[];
  /** the WebGPU adapter this thread sees */
  adapter: WebGpuAdapter | null;
}

/** Starts the chosen backend ('auto': the first of `autoBackends()` that starts) and makes it current. */
export async function startBackend(choice: BackendChoice): Promise<BackendStart> {
  const failed: string[] = [];
  const order = choice === 'auto' ? await autoBackends() : [choice];
  for (const [i, name] of order.entries()) {
    try {
      await prepare(name);
      await C.setBackend(name);
      const adapter = await webgpuAdapter();
      const skipped = choice === 'auto' && adapter?.software ? order.slice(i + 1).filter((b) => WEBGPU_BACKENDS.includes(b)) : [];
      const passedOver = skipped.map((b) => `${b}: software WebGPU adapter (${adapter!.label || 'no name'}), used only when nothing else starts`);
      return { name, failed, passedOver, adapter };
    } catch (e) {
      failed.push(`${name}: ${(e as Error).message}`);
    }
  }
  throw new BackendStartError(failed);
}
