/**
 * The page's dedicated module worker: loads the models and runs the upscale and text-to-image jobs the page
 * sends (`new Worker(new URL('./worker/sdxs.worker.ts', import.meta.url), { type: 'module' })` in
 * page-client.ts, which Vite bundles in the build and serves as a module in dev).
 */
import type { SdxsMessagePort } from '@sdxs/pipeline/worker';
import { createPageWorkerHandler } from './page-handler.js';

createPageWorkerHandler().listen(self as unknown as SdxsMessagePort);
