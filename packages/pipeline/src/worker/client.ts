/**
 * The main-thread side: a Promise API over a worker that runs `createSdxsWorkerHandler()` (or any port that
 * speaks SdxsRequest / SdxsResponse). Loads no model code.
 */
import type { SampleArray } from '@sdxs/vae';
import {
  transferableBuffer,
  type SdxsBackendInfo,
  type SdxsErrorData,
  type SdxsGenerateRequest,
  type SdxsGenerateResult,
  type SdxsMessagePort,
  type SdxsProgress,
  type SdxsRequest,
  type SdxsResponse,
  type SdxsThread,
  type SdxsUpscaleRequest,
  type SdxsUpscaleResult,
} from './protocol.js';

/** A failure inside the worker, with its name, message and SdxsError code kept. */
export class SdxsWorkerError extends Error {
  readonly kind: SdxsErrorData['kind'];
  readonly code: string | undefined;
  /** for kind 'backend-start': each backend tried, with why it failed */
  readonly failed: readonly string[];
  /** the stack in the worker */
  readonly workerStack: string | undefined;
  constructor(data: SdxsErrorData) {
    super(data.message);
    this.name = data.name;
    this.kind = data.kind;
    this.code = data.code;
    this.failed = data.failed ?? [];
    this.workerStack = data.stack;
  }
}

export interface SdxsJobOptions {
  /** every progress event of the job, in order */
  onProgress?: (e: SdxsProgress) => void;
  /**
   * cancels the job: the worker stops at its next check (a denoising step or a tile) and the promise then
   * rejects with `signal.reason` (an AbortError when none was given)
   */
  signal?: AbortSignal;
  /** move the input image's buffer to the worker instead of copying it (it is detached here afterwards) */
  transferInput?: boolean;
}

interface Pending {
  resolve(value: unknown): void;
  reject(e: unknown): void;
  expect: SdxsResponse['type'];
  onProgress?: (e: SdxsProgress) => void;
  signal?: AbortSignal;
}

/** The port of a Worker too: closed on `close()`, and its load errors reject what is waiting. */
interface WorkerLike extends SdxsMessagePort {
  terminate?(): void;
}

function abortReason(signal: AbortSignal | undefined): unknown {
  return signal?.reason ?? new DOMException('cancelled', 'AbortError');
}

/** Talks to one SDXS worker: start a backend, upscale, generate, release, with progress and cancellation. */
export class SdxsWorkerClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly readyInfo: Promise<{ thread: SdxsThread }>;
  private failure: Error | null = null;
  private readonly onMessage = (ev: MessageEvent): void => this.receive(ev.data as SdxsResponse);
  private isReady = false;
  /** a Worker's 'error' before it said 'ready': its script did not load (later uncaught errors leave jobs to their own answers) */
  private readonly onError = (ev: Event): void => {
    if (!this.isReady) this.fail(new Error(`the SDXS worker did not start: ${(ev as ErrorEvent).message || 'its script did not load'}`));
  };
  private settleReady: { resolve(v: { thread: SdxsThread }): void; reject(e: unknown): void } | undefined;
  /** the last backend the worker reported */
  backend: SdxsBackendInfo | null = null;

  constructor(private readonly port: WorkerLike) {
    this.readyInfo = new Promise((resolve, reject) => (this.settleReady = { resolve, reject }));
    // a rejected ready that nobody awaited is not an unhandled rejection: the next request rethrows it
    this.readyInfo.catch(() => undefined);
    port.addEventListener('message', this.onMessage);
    (port as unknown as EventTarget).addEventListener?.('error', this.onError);
    port.start?.();
  }

  /** Resolves when the worker has loaded and said where it runs ('worker' in a Web Worker). */
  ready(): Promise<{ thread: SdxsThread }> {
    return this.readyInfo;
  }

  /** Starts `choice` ('auto' or a backend name) in the worker; switching frees the models it loaded. */
  useBackend(choice: string): Promise<SdxsBackendInfo> {
    return this.request<SdxsBackendInfo>((id) => ({ type: 'backend', id, choice }), 'backend', {});
  }

  /** 2x upscale with the model's VAE; resolves with exactly 2W x 2H pixels moved back from the worker. */
  upscale<T extends SampleArray>(request: SdxsUpscaleRequest<T>, options: SdxsJobOptions = {}): Promise<SdxsUpscaleResult<T>> {
    const transfer = options.transferInput ? transferableBuffer(request.image.data) : [];
    return this.request<SdxsUpscaleResult<T>>((id) => ({ type: 'upscale', id, request }), 'upscaled', options, transfer);
  }

  /** Text (or image prompt) to one image. */
  generate(request: SdxsGenerateRequest, options: SdxsJobOptions = {}): Promise<SdxsGenerateResult> {
    const transfer = options.transferInput && request.imagePrompt ? transferableBuffer(request.imagePrompt.data) : [];
    return this.request<SdxsGenerateResult>((id) => ({ type: 'generate', id, request }), 'generated', options, transfer);
  }

  /** Frees the worker's models (after the jobs queued before). */
  release(): Promise<void> {
    return this.request<void>((id) => ({ type: 'release', id }), 'released', {});
  }

  /** Stops listening, terminates a Worker, and rejects whatever is still waiting. */
  close(): void {
    this.port.removeEventListener('message', this.onMessage);
    (this.port as unknown as EventTarget).removeEventListener?.('error', this.onError);
    this.port.terminate?.();
    this.fail(new Error('the SDXS worker client was closed'));
  }

  private request<T>(make: (id: number) => SdxsRequest, expect: SdxsResponse['type'], options: SdxsJobOptions, transfer: Transferable[] = []): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    const { signal, onProgress } = options;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => this.port.postMessage({ type: 'cancel', id } satisfies SdxsRequest, []);
      const done = (): void => signal?.removeEventListener('abort', onAbort);
      this.pending.set(id, {
        resolve: (v) => (done(), resolve(v as T)),
        reject: (e) => (done(), reject(e)),
        expect,
        onProgress,
        signal,
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      this.port.postMessage(make(id), transfer);
    });
  }

  private receive(m: SdxsResponse): void {
    if (m.type === 'ready') {
      this.isReady = true;
      this.settleReady?.resolve({ thread: m.thread });
      return;
    }
    const p = this.pending.get(m.id);
    if (!p) return;
    switch (m.type) {
      case 'progress':
        if (m.event.kind === 'backend') this.backend = m.event.info;
        if (!p.signal?.aborted) p.onProgress?.(m.event);
        return;
      case 'error':
        this.pending.delete(m.id);
        p.reject(m.error.kind === 'abort' ? abortReason(p.signal) : new SdxsWorkerError(m.error));
        return;
      default:
        this.pending.delete(m.id);
        if (m.type === 'backend') this.backend = m.info;
        else if (m.type === 'upscaled' || m.type === 'generated') this.backend = m.result.backend;
        if (m.type !== p.expect) p.reject(new Error(`the SDXS worker answered '${m.type}' to a request for '${p.expect}'`));
        else p.resolve(m.type === 'backend' ? m.info : m.type === 'released' ? undefined : m.result);
    }
  }

  private fail(e: Error): void {
    this.failure ??= e;
    this.settleReady?.reject(e);
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}
