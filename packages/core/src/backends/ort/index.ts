import type { Backend, ComputePrecision } from '../../backend.js';
import { BackendUnavailableError } from '../../errors.js';
import { dawnAdapterInfo } from '../dawn-probe.js';
import { registerBackend } from '../../engine.js';
import { createLazyBackend, type LazyBackend } from '../../graph/lazy-backend.js';
import { hasOwnWebgpu, isDeno, isNodeLike, vulkanIsSoftware } from '../../env.js';
import { OrtRunner, type OrtRunnerOptions } from './runner.js';
import { hasInjectedOnnxRuntimeWeb, nodeRuntime, type OrtRuntime, webRuntime } from './runtime.js';


/**
 * onnxruntime-node where it loads (Node, Bun, and Deno through its native addon), else onnxruntime-web (browsers).
 * WebGPU runs on onnxruntime-web wherever the runtime has its own `navigator.gpu` (Deno's wgpu, which also takes
 * adapters Dawn refuses, such as lavapipe); in Node and Bun on onnxruntime-web over a `navigator.gpu` the user
 * installed (the `webgpu` package) when the program hands core onnxruntime-web with `useOnnxRuntimeWeb(ort)`.
 */
async function runtimeFor(provider: 'cpu' | 'webgpu' | 'cuda'): Promise<OrtRuntime> {
  const web = hasInjectedOnnxRuntimeWeb() || (provider === 'webgpu' && hasOwnWebgpu());
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
 * Fused attention (com.microsoft.MultiHeadAttention) on the CPU and CUDA providers; on WebGPU, MatMul-Softmax-MatMul:
 * ONNX Runtime 1.30's WebGPU MultiHeadAttention gave wrong results at [1, 4, 64, 16] without a mask on SwiftShader
 * (see the conformance test), and that is the adapter CI has. (The lowering's `fusedAttention` option; both
 * paths are tested in ort-fused-attention.test.ts.)
 */
const fusedAttentionFor = (provider: string): boolean => provider !== 'webgpu';

/** Whether the WebGPU adapter the runtime will use has `shader-f16` (float16 kernels). */
async function webgpuHasF16(rt: OrtRuntime): Promise<boolean> {
  if (rt.pkg === 'onnxruntime-node') return (await dawnAdapterInfo()).shaderF16;
  const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<{ features: { has(f: string): boolean } } | null> } } }).navigator?.gpu;
  const adapter = await gpu?.requestAdapter().catch(() => null);
  return adapter?.features.has('shader-f16') ?? false;
}

/**
 * The precision of a compiled backend: 'auto' is float16 on CUDA and on a WebGPU adapter with `shader-f16`,
 * float32 elsewhere (ONNX Runtime's CPU provider runs float16 graphs by casting around most nodes: a test
 * mode there, not a fast one). (The CLI's SDXS_COMPUTE is read by the CLI: core takes only the option.)
 */
async function computeFor(rt: OrtRuntime, want: ComputePrecision | 'auto'): Promise<ComputePrecision> {
  if (want === 'int8' && (rt.provider !== 'cpu' || rt.pkg !== 'onnxruntime-node')) {
    throw new BackendUnavailableError(`backend 'ort-${rt.provider}' (${rt.pkg}): int8 compute runs on ONNX Runtime's native CPU provider only (ort-cpu in Node, Bun or Deno)`);
  }
  if (rt.provider === 'webgpu' && want !== 'float32') {
    const f16 = await webgpuHasF16(rt);
    if (want === 'float16' && !f16) throw new BackendUnavailableError("backend 'ort-webgpu': this WebGPU adapter has no 'shader-f16', so it cannot compute in float16 (use compute: 'float32')");
    return f16 ? 'float16' : 'float32';
  }
  if (want !== 'auto') return want;
  return rt.provider === 'cuda' ? 'float16' : 'float32';
}

/** A compiled backend on `rt`; `options` override the runner's choices for the provider (the lowering's capabilities among them). */
export function createOrtBackend(name: string, rt: OrtRuntime, software = false, compute: ComputePrecision = 'float32', options: OrtRunnerOptions = {}): LazyBackend {
  const runner = new OrtRunner(name, rt, {
    attentionKvLayout: rt.provider === 'cpu' ? 'bnsh' : 'bsd',
    fusedAttention: fusedAttentionFor(rt.provider),
    transposedMatMul: rt.provider === 'cpu' && rt.pkg === 'onnxruntime-node',
    halfInputs: rt.provider === 'cpu' || compute === 'float16',
    // int8: float32 graphs whose products by constant weights run on int8 kernels (onnx/int8.ts)
    compute: compute === 'int8' ? 'float32' : compute,
    int8: compute === 'int8',
    // ONNX Runtime's CPU provider runs InstanceNormalization on one thread, and upsample + 3x3 conv at full size
    groupNormReductions: rt.provider === 'cpu',
    subpixelUpsampleConv: rt.provider === 'cpu',
    ...options,
  });
  return createLazyBackend(name, runner, { software, compute });
}

async function ortBackend(name: string, provider: 'cpu' | 'webgpu' | 'cuda', asked: ComputePrecision | 'auto', software = false): Promise<Backend> {
  const rt = await runtimeFor(provider);
  return createOrtBackend(name, rt, software, await computeFor(rt, asked)) as unknown as Backend;
}

/**
 * The compiled backends: ops are recorded and run as ONNX graphs by ONNX Runtime. Priorities put a CUDA or
 * real WebGPU adapter first, then ort-cpu, then the eager backends (software WebGPU only when nothing else starts).
 */
export function registerOrtBackends(): void {
  registerBackend('ort-cuda', ({ compute }) => ortBackend('ort-cuda', 'cuda', compute), 70);
  registerBackend('ort-webgpu', ({ compute }) => ortBackend('ort-webgpu', 'webgpu', compute, vulkanIsSoftware()), 60, { softwareHint: vulkanIsSoftware });
  registerBackend('ort-cpu', ({ compute }) => ortBackend('ort-cpu', 'cpu', compute), 45);
}

export { OrtRunner } from './runner.js';
export { useOnnxRuntimeWeb } from './runtime.js';
export { onCompile, type CompileEvent, type CompileListener } from './events.js';
