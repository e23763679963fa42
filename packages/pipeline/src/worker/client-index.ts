/** `@sdxs/pipeline/worker-client`: the main-thread side of the worker protocol; loads no model code. */
export { SdxsWorkerClient, SdxsWorkerError, type SdxsJobOptions } from './client.js';
export * from './protocol.js';
