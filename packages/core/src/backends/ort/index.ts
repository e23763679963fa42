import type { Backend } from '../../backend.js';
import { registerBackend } from '../../engine.js';
import { createLazyBackend, type LazyBackend } from '../../graph/lazy-backend.js';
import { BackendUnavailableError } from '../../errors.js';
import { hasOwnWebgpu, isDeno, isNodeLike, vulkanIsSoftware } from '../env.js';
import { OrtRunner } from './runner.js';
import { hasInjectedOnnxRuntimeWeb, nodeRuntime, type OrtRuntime, webRuntime } from './runtime.js';


/**
 * onnxruntime-node where it loads (Node, Bun, and Deno through its native addon), else onnxruntime-web (browsers).
 * WebGPU runs on onnxruntime-web wherever the runtime has its own `navigator.gpu` (Deno's wgpu, which also takes
 * adapters Dawn refuses, such as lavapipe); in Node and Bun on onnxruntime-web over a `navigator.gpu` the user
 * installed (the `webgpu` package) with `useOnnxRuntimeWeb(ort)` or SDXS_ORT_PACKAGE=web.
 */
async function runtimeFor(provider: 'cpu' | 'webgpu' | 'cuda'): Promise<OrtRuntime> {
  const web = hasInjectedOnnxRuntimeWeb() || process.env?.SDXS_ORT_PACKAGE === 'web' || (provider === 'webgpu' && hasOwnWebgpu());
  if (isNodeLike() && !web) {
    return nodeRuntime(provider).catch((e: unknown) => {
      // Deno resolves an optional peer only when the program itself imports it
      if (!isDeno() || !(e instanceof BackendUnavailableError) || !/Cannot find module/.test(e.message)) throw e;
      throw new BackendUnavailableError(
        `backend 'ort-${provider}' in Deno needs onnxruntime-node in the module graph: import 'npm:onnxruntime-node@1.30.0' in your program, or run with --preload npm:onnxruntime-node@1.30.0 (${e.message})`,
        { cause: e },
      );
    });
  }
  if (provider === 'cuda') return nodeRuntime('cuda');
  return webRuntime(provider === 'cpu' ? 'wasm' : 'webgpu');
}

/**
 * Fused attention (com.microsoft.MultiHeadAttention) on the CPU and CUDA providers; on WebGPU, MatMul-Softmax-MatMul
 * unless SDXS_ORT_FUSED_ATTENTION=1: ONNX Runtime 1.30's WebGPU MultiHeadAttention gave wrong results at
 * [1, 4, 64, 16] without a mask on SwiftShader (see the conformance test), and that is the adapter CI has.
 */
function fusedAttentionFor(provider: string): boolean {
  const env = typeof process !== 'undefined' ? process.env?.SDXS_ORT_FUSED_ATTENTION : undefined;
  if (env === '0' || env === '1') return env === '1';
  return provider !== 'webgpu';
}

export function createOrtBackend(name: string, rt: OrtRuntime, software = false): LazyBackend {
  const runner = new OrtRunner(name, rt, {
    attentionKvLayout: rt.provider === 'cpu' ? 'bnsh' : 'bsd',
    fusedAttention: fusedAttentionFor(rt.provider),
    transposedMatMul: rt.provider === 'cpu' && rt.pkg === 'onnxruntime-node',
    halfInputs: rt.provider === 'cpu',
  });
  return createLazyBackend(name, runner, { software });
}

/**
 * The compiled backends: ops are recorded and run as ONNX graphs by ONNX Runtime. Priorities put a CUDA or
 * real WebGPU adapter first, then ort-cpu, then the eager backends (software WebGPU only when nothing else starts).
 */
export function registerOrtBackends(): void {
  registerBackend('ort-cuda', async () => createOrtBackend('ort-cuda', await runtimeFor('cuda')) as unknown as Backend, 70);
  registerBackend('ort-webgpu', async () => createOrtBackend('ort-webgpu', await runtimeFor('webgpu'), vulkanIsSoftware()) as unknown as Backend, 60, { softwareHint: vulkanIsSoftware });
  registerBackend('ort-cpu', async () => createOrtBackend('ort-cpu', await runtimeFor('cpu')) as unknown as Backend, 45);
}

export { OrtRunner } from './runner.js';
export { useOnnxRuntimeWeb } from './runtime.js';
export { onCompile, type CompileEvent, type CompileListener } from './events.js';
