import type { Backend } from '../../backend.js';
import { registerBackend } from '../../engine.js';
import { vulkanIsSoftware } from '../../env.js';
import { createTfjsBackend } from './adapter.js';
import { initTfjsCpu, initTfjsWasm, initTfjsWebgpu, loadTfjsCore, loadTfjsNode, webgpuIsSoftware } from './load.js';

/**
 * Register the TensorFlow.js backends. Nothing is imported until a backend is selected; a missing
 * package makes that backend unavailable (BackendUnavailableError naming the install step).
 */
export function registerTfjsBackends(): void {
  registerBackend('tfjs-cpu', async () => {
    const tf = await loadTfjsCore();
    await initTfjsCpu(tf);
    return createTfjsBackend(tf, { name: 'tfjs-cpu', tfBackend: 'cpu', syncRead: true, copyOnRead: true }) as Backend;
  }, 10);
  registerBackend('tfjs-wasm', async () => {
    const tf = await loadTfjsCore();
    await initTfjsWasm(tf);
    // wasm32 addresses 4 GiB; past it the module aborts with a bare RuntimeError.
    return { ...createTfjsBackend(tf, { name: 'tfjs-wasm', tfBackend: 'wasm', syncRead: true, copyOnRead: false }), memoryLimitBytes: 4 * 2 ** 30 } as Backend;
  }, 20);
  registerBackend('tfjs-webgpu', async () => {
    const tf = await loadTfjsCore();
    await initTfjsWebgpu(tf);
    const b = createTfjsBackend(tf, { name: 'tfjs-webgpu', tfBackend: 'webgpu', syncRead: false, copyOnRead: false }) as Backend;
    return { ...b, software: webgpuIsSoftware() };
  }, 30, { softwareHint: vulkanIsSoftware });
  registerBackend('tfjs-node', async () => {
    const tf = await loadTfjsNode('@tensorflow/tfjs-node', 'tfjs-node');
    return createTfjsBackend(tf, { name: 'tfjs-node', tfBackend: 'tensorflow', syncRead: true, copyOnRead: false }) as Backend;
  }, 40);
  registerBackend('tfjs-node-gpu', async () => {
    const tf = await loadTfjsNode('@tensorflow/tfjs-node-gpu', 'tfjs-node-gpu');
    return createTfjsBackend(tf, { name: 'tfjs-node-gpu', tfBackend: 'tensorflow', syncRead: false, copyOnRead: false }) as Backend;
  }, 50);
}
