import type { Backend } from '../../backend.js';
import { registerBackend } from '../../engine.js';
import { createLazyBackend, type LazyBackend } from '../../graph/lazy-backend.js';
import { OrtRunner } from './runner.js';
import { nodeRuntime, type OrtRuntime, webRuntime } from './runtime.js';

const isNodeLike = (): boolean => typeof process !== 'undefined' && typeof process.versions?.node === 'string';

/** onnxruntime-node where it loads (Node, Bun), else onnxruntime-web (browsers). */
async function runtimeFor(provider: 'cpu' | 'webgpu' | 'cuda'): Promise<OrtRuntime> {
  if (isNodeLike() && process.env?.SDXS_ORT_PACKAGE !== 'web') return nodeRuntime(provider);
  if (provider === 'cuda') return nodeRuntime('cuda');
  return webRuntime(provider === 'cpu' ? 'wasm' : 'webgpu');
}

async function webgpuIsSoftware(): Promise<boolean> {
  const icd = typeof process !== 'undefined' ? (process.env?.VK_ICD_FILENAMES ?? '') : '';
  return /swiftshader|lvp|lavapipe/i.test(icd);
}

export function createOrtBackend(name: string, rt: OrtRuntime, software = false): LazyBackend {
  return createLazyBackend(name, new OrtRunner(name, rt), { software });
}

/**
 * The compiled backends: ops are recorded and run as ONNX graphs by ONNX Runtime. Priorities put a CUDA or
 * real WebGPU adapter first, then ort-cpu, then the eager backends (software WebGPU only when nothing else starts).
 */
export function registerOrtBackends(): void {
  registerBackend('ort-cuda', async () => createOrtBackend('ort-cuda', await runtimeFor('cuda')) as unknown as Backend, 70);
  registerBackend('ort-webgpu', async () => createOrtBackend('ort-webgpu', await runtimeFor('webgpu'), await webgpuIsSoftware()) as unknown as Backend, 60);
  registerBackend('ort-cpu', async () => createOrtBackend('ort-cpu', await runtimeFor('cpu')) as unknown as Backend, 45);
}

export { OrtRunner } from './runner.js';
export { onCompile, type CompileEvent, type CompileListener } from './events.js';
