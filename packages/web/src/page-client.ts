/**
 * The page's link to its model worker: a dedicated module worker when one starts, else the same handler on the
 * page's thread behind a MessageChannel (the page then repaints only between steps and tiles; the status
 * says so). The worker's code is loaded only by the worker, or on demand for the fallback.
 */
import { SdxsWorkerClient, type SdxsThread } from '@sdxs/pipeline/worker-client';

export interface PageClient {
  client: SdxsWorkerClient;
  thread: SdxsThread;
  /** why the models run on the page's thread (no Web Worker) */
  fallbackReason?: string;
}

let asked: Promise<PageClient> | undefined;

/** A client on the page's own thread: the worker handler imported here, joined by a MessageChannel. */
async function onThisThread(reason: string): Promise<PageClient> {
  const { createPageWorkerHandler } = await import('./worker/page-handler.js');
  const channel = new MessageChannel();
  createPageWorkerHandler().listen(channel.port2);
  const client = new SdxsWorkerClient(channel.port1);
  const { thread } = await client.ready();
  return { client, thread, fallbackReason: reason };
}

async function start(): Promise<PageClient> {
  let worker: Worker;
  try {
    // this exact form lets Vite bundle the worker (build) and serve it as a module (dev)
    worker = new Worker(new URL('./worker/sdxs.worker.ts', import.meta.url), { type: 'module', name: 'sdxs-models' });
  } catch (e) {
    return onThisThread(`the Web Worker did not start: ${e instanceof Error ? e.message : String(e)}`);
  }
  const client = new SdxsWorkerClient(worker);
  try {
    const { thread } = await client.ready();
    return { client, thread };
  } catch (e) {
    client.close();
    return onThisThread(e instanceof Error ? e.message : String(e));
  }
}

let current: PageClient | undefined;

/** The page's client, started on first use. */
export function pageClient(): Promise<PageClient> {
  asked ??= start().then((c) => (current = c));
  return asked;
}

/** The client if it has started (undefined before the first run). */
export function startedClient(): PageClient | undefined {
  return current;
}
