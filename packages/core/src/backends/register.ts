import type { Backend } from '../backend.js';
import { registerBackend } from '../engine.js';
import { createCpuBackend } from './cpu/index.js';
import { registerTfjsBackends } from './tfjs/index.js';
import { registerOrtBackends } from './ort/index.js';

/** The reference backend is always present. */
registerBackend('cpu', async () => createCpuBackend() as unknown as Backend, 0);
/** TensorFlow.js backends: optional packages, loaded only when selected. */
registerTfjsBackends();

export { createCpuBackend };
/** ONNX Runtime backends (ort-cpu, ort-webgpu, ort-cuda): optional peers, loaded only when selected. */
registerOrtBackends();
