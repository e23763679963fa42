import type { Backend } from '../backend.js';
import { registerBackend } from '../engine.js';
import { createCpuBackend } from './cpu/index.js';

/** The reference backend is always present. */
registerBackend('cpu', async () => createCpuBackend() as unknown as Backend, 0);

export { createCpuBackend };
