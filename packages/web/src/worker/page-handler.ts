/**
 * The page's worker side: @sdxs/pipeline's worker handler with the page's backend start (its bundled
 * onnxruntime-web and .wasm files, `auto`'s order on software adapters). DOM-free: it runs in the page's
 * module worker, or on the page's thread when no worker starts.
 */
import { createSdxsWorkerHandler, type SdxsWorkerHandler } from '@sdxs/pipeline/worker';
import { isBackendChoice } from '../auto-order.js';
import { startBackend } from '../backend.js';

export function createPageWorkerHandler(): SdxsWorkerHandler {
  return createSdxsWorkerHandler({
    defaultBackend: 'auto',
    startBackend: (choice) => {
      if (!isBackendChoice(choice)) return Promise.reject(new Error(`unknown backend '${choice}'`));
      return startBackend(choice);
    },
  });
}
