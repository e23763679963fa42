/** `@sdxs/pipeline/worker`: the worker side (run models off the main thread). DOM-free. */
export { createSdxsWorkerHandler, planarToRgba8, type SdxsBackendStart, type SdxsPost, type SdxsWorkerHandler, type SdxsWorkerHandlerOptions } from './handler.js';
export * from './protocol.js';
