import type { Backend, BackendOptions, ComputePrecision, KernelInput, OpAttrs, OpName } from './backend.js';
import type { ComputeDType, DType } from './dtype.js';
import { isStorageDType } from './dtype.js';
import { BackendUnavailableError, SdxsError } from './errors.js';
import type { Shape } from './shape.js';
import { Tensor, installTensorHooks } from './tensor.js';
import { HostStorage } from './io/host-storage.js';

/** Makes a backend; `compute` is 'auto' unless a precision was asked for (backends without a choice ignore it). */
export type BackendFactory = (opts: { compute: ComputePrecision | 'auto' }) => Promise<Backend>;
interface Registration {
  name: string;
  factory: BackendFactory;
  priority: number;
  /** true when the backend would run on a software device here: `auto` tries it last, without starting it first */
  softwareHint?: () => boolean;
  /** the instance made with compute 'auto' */
  instance?: Backend;
  failure?: unknown;
  /** instances made for an explicit compute precision (and their failures) */
  variants: Map<ComputePrecision, Backend | { failure: unknown }>;
}

/** Called for every op output: the autograd tape records it (autograd/tape.ts); the conformance tests see which ops ran where. */
export type OpRecorder = <K extends OpName>(op: K, inputs: readonly (Tensor | null)[], attrs: OpAttrs[K], out: Tensor) => void;

export interface MemoryInfo {
  /** Live tensors created through sdxs (all backends plus host storage). */
  numTensors: number;
  numBytes: number;
  byBackend: Record<string, { numTensors: number; numBytes: number }>;
}

class Engine {
  readonly registry = new Map<string, Registration>();
  active: Backend | null = null;
  readonly live = new Set<Tensor>();
  readonly scopes: Set<Tensor>[] = [];
  readonly recorders = new Set<OpRecorder>();

  track(t: Tensor): void {
    this.live.add(t);
    this.scopes[this.scopes.length - 1]?.add(t);
  }
  untrack(t: Tensor): void {
    this.live.delete(t);
  }
}

export const ENGINE = new Engine();
installTensorHooks({ onCreate: (t) => ENGINE.track(t), onDispose: (t) => ENGINE.untrack(t) });

/** Register a backend; higher priority wins the automatic choice. Registration is lazy: nothing loads yet. */
export function registerBackend(name: string, factory: BackendFactory, priority = 0, opts: { softwareHint?: () => boolean } = {}): void {
  ENGINE.registry.set(name, { name, factory, priority, softwareHint: opts.softwareHint, variants: new Map() });
}

export function listBackends(): string[] {
  return [...ENGINE.registry.values()].sort((a, b) => b.priority - a.priority).map((r) => r.name);
}

const startFailure = (reg: Registration, e: unknown): unknown =>
  e instanceof SdxsError ? e : new BackendUnavailableError(`backend '${reg.name}' failed to start: ${(e as Error).message}`, { cause: e });

/** The precision a backend computes in. */
export const computeOf = (b: Backend): ComputePrecision => b.compute ?? 'float32';

async function init(reg: Registration, compute: ComputePrecision | 'auto' = 'auto'): Promise<Backend> {
  if (compute !== 'auto') {
    if (reg.instance && computeOf(reg.instance) === compute) return reg.instance;
    const v = reg.variants.get(compute);
    if (v && 'failure' in v) throw v.failure;
    if (v) return v;
    try {
      const b = await reg.factory({ compute });
      if (computeOf(b) !== compute) throw new BackendUnavailableError(`backend '${reg.name}' computes in ${computeOf(b)} only (asked for compute: '${compute}')`);
      reg.variants.set(compute, b);
      return b;
    } catch (e) {
      const failure = startFailure(reg, e);
      reg.variants.set(compute, { failure });
      throw failure;
    }
  }
  if (reg.instance) return reg.instance;
  if (reg.failure) throw reg.failure;
  try {
    reg.instance = await reg.factory({ compute: 'auto' });
    return reg.instance;
  } catch (e) {
    reg.failure = startFailure(reg, e);
    throw reg.failure;
  }
}

const COMPUTE_CHOICES = ['auto', 'float16', 'float32', 'int8'] as const;

function computeOption(opts: BackendOptions | undefined): ComputePrecision | 'auto' {
  const c = opts?.compute ?? 'auto';
  if (!(COMPUTE_CHOICES as readonly string[]).includes(c)) throw new BackendUnavailableError(`compute must be one of ${COMPUTE_CHOICES.join(', ')} (got ${JSON.stringify(c)})`);
  return c;
}

/**
 * Select a backend by name (initialising it), or 'auto' for the best one that starts. `compute` picks the
 * precision of its float ops (see BackendOptions); a backend that cannot compute in it does not start.
 */
export async function setBackend(name: string, opts?: BackendOptions): Promise<Backend> {
  const compute = computeOption(opts);
  if (name === 'auto') return autoBackend(compute);
  const reg = ENGINE.registry.get(name);
  if (!reg) throw new BackendUnavailableError(`unknown backend '${name}'; registered: ${listBackends().join(', ')}`);
  ENGINE.active = await init(reg, compute);
  return ENGINE.active;
}

/** Initialise a backend without making it active (for moving tensors between backends). */
export async function backendInstance(name: string, opts?: BackendOptions): Promise<Backend> {
  const reg = ENGINE.registry.get(name);
  if (!reg) throw new BackendUnavailableError(`unknown backend '${name}'; registered: ${listBackends().join(', ')}`);
  return init(reg, computeOption(opts));
}

/** Console lines printed by backends while `auto` probed them (library warnings, stack traces), by name. */
const probeLogs = new Map<string, string[]>();

/**
 * Runs `fn` with console output collected instead of printed: probing for `auto` must be silent (tfjs
 * logs a stack trace when a WebGPU adapter is missing). The lines are kept for probeReport().
 */
async function quietly<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const c = console as unknown as Record<string, (...args: unknown[]) => void>;
  const methods = ['log', 'info', 'warn', 'error', 'debug'] as const;
  const saved = methods.map((m) => c[m]);
  const lines = probeLogs.get(name) ?? [];
  probeLogs.set(name, lines);
  for (const m of methods) c[m] = (...args: unknown[]) => void lines.push(args.map((a) => (a instanceof Error ? a.message : String(a))).join(' '));
  try {
    return await fn();
  } finally {
    methods.forEach((m, i) => (c[m] = saved[i]!));
  }
}

export interface BackendProbe {
  name: string;
  /** 'chosen', 'started' (but passed over: software), 'failed', or 'not tried' */
  status: 'chosen' | 'started' | 'failed' | 'not tried';
  /** why it failed or was passed over */
  reason?: string;
  /** what it printed while starting */
  log: string[];
}

let lastProbe: BackendProbe[] = [];

/** What the last `auto` choice tried, in order, with the reasons for skipped backends (for --verbose and bench). */
export function probeReport(): BackendProbe[] {
  return lastProbe.map((p) => ({ ...p, log: [...p.log] }));
}

async function autoBackend(compute: ComputePrecision | 'auto'): Promise<Backend> {
  const report = await probeAll(compute);
  lastProbe = report.probes;
  if (report.chosen) {
    ENGINE.active = report.chosen;
    return report.chosen;
  }
  throw new BackendUnavailableError(`no backend could start:\n${report.probes.map((p) => `${p.name}: ${p.reason}`).join('\n')}`);
}

/**
 * `auto`'s candidates in the order it tries them: by priority (negative: never automatic), and those that would run on
 * a software device (SwiftShader, llvmpipe) after all the others. `onSoftwareDevice` tells which those are where the
 * caller knows better (the web page asks its WebGPU adapter); by default each backend's own hint.
 */
function autoCandidates(onSoftwareDevice?: (name: string) => boolean): { first: Registration[]; last: Registration[] } {
  const first: Registration[] = [];
  const last: Registration[] = [];
  for (const name of listBackends()) {
    const reg = ENGINE.registry.get(name)!;
    if (reg.priority < 0) continue;
    const software = onSoftwareDevice ? onSoftwareDevice(name) : (reg.softwareHint?.() ?? false);
    (software ? last : first).push(reg);
  }
  return { first, last };
}

/** The order `auto` tries the registered backends in (see autoCandidates); the web page starts its backends in it. */
export function autoBackendOrder(onSoftwareDevice?: (name: string) => boolean): string[] {
  const { first, last } = autoCandidates(onSoftwareDevice);
  return [...first, ...last].map((r) => r.name);
}

async function probeAll(compute: ComputePrecision | 'auto'): Promise<{ chosen: Backend | null; probes: BackendProbe[] }> {
  const probes: BackendProbe[] = [];
  let chosen: Backend | null = null;
  let software: Backend | null = null;
  // backends on a software device are not even started unless nothing else does
  const { first, last: later } = autoCandidates();
  for (const reg of first) {
    const name = reg.name;
    const log = probeLogs.get(name) ?? [];
    if (chosen) {
      probes.push({ name, status: 'not tried', log });
      continue;
    }
    try {
      const b = await quietly(name, () => init(reg, compute));
      if (b.software) {
        software ??= b;
        probes.push({ name, status: 'started', reason: 'software emulation: used only when nothing else starts', log: probeLogs.get(name) ?? [] });
        continue;
      }
      chosen = b;
      probes.push({ name, status: 'chosen', log: probeLogs.get(name) ?? [] });
    } catch (e) {
      probes.push({ name, status: 'failed', reason: (e as Error).message, log: probeLogs.get(name) ?? [] });
    }
  }
  if (!chosen && software) {
    chosen = software;
    const p = probes.find((x) => x.name === software!.name);
    if (p) p.status = 'chosen';
  }
  // backends on a software device: tried only when nothing else starts, without being started before
  for (const reg of later) {
    const log = probeLogs.get(reg.name) ?? [];
    if (chosen) {
      probes.push({ name: reg.name, status: 'not tried', reason: 'software device: tried only when nothing else starts', log });
      continue;
    }
    try {
      chosen = await quietly(reg.name, () => init(reg, compute));
      probes.push({ name: reg.name, status: 'chosen', log: probeLogs.get(reg.name) ?? [] });
    } catch (e) {
      probes.push({ name: reg.name, status: 'failed', reason: (e as Error).message, log: probeLogs.get(reg.name) ?? [] });
    }
  }
  return { chosen, probes };
}

/** Whether a backend starts here (initialises it on first ask). */
export async function isBackendAvailable(name: string, opts?: BackendOptions): Promise<boolean> {
  const reg = ENGINE.registry.get(name);
  if (!reg) return false;
  try {
    await init(reg, computeOption(opts));
    return true;
  } catch {
    return false;
  }
}

/** Why a backend is unavailable, or null. */
export async function backendFailure(name: string, opts?: BackendOptions): Promise<string | null> {
  const reg = ENGINE.registry.get(name);
  if (!reg) return `backend '${name}' is not registered`;
  try {
    await init(reg, computeOption(opts));
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/** The active backend, selected automatically on first use. */
export function getBackend(): string {
  return currentBackend().name;
}

export function currentBackend(): Backend {
  if (ENGINE.active) return ENGINE.active;
  // Synchronous default: the always-present reference backend. Call `await setBackend('auto')` for the fastest.
  const cpu = ENGINE.registry.get('cpu');
  if (cpu?.instance) {
    ENGINE.active = cpu.instance;
    return ENGINE.active;
  }
  throw new BackendUnavailableError("no backend selected: call `await setBackend('auto')` (or a name) first");
}

/** Run fn; dispose every tensor it created except those in its result (tensors, arrays or objects of tensors). */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  ENGINE.scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } finally {
    ENGINE.scopes.pop();
  }
  if (result instanceof Promise) throw new SdxsError('UNSUPPORTED', 'tidy() takes a synchronous function; use tidyAsync for async work');
  return closeScope(scope, result);
}

/** Dispose a finished scope's tensors except those in `result`, which move to the enclosing scope. */
function closeScope<T>(scope: Set<Tensor>, result: T): T {
  const keepSet = new Set<Tensor>();
  collectTensors(result, keepSet);
  for (const t of scope) if (!keepSet.has(t)) t.dispose();
  const parent = ENGINE.scopes[ENGINE.scopes.length - 1];
  if (parent) for (const t of keepSet) if (!t.isDisposed) parent.add(t);
  return result;
}

/** tidy for async functions. Tensors created by concurrent work in the same period are attributed to this scope too. */
export async function tidyAsync<T>(fn: () => Promise<T>): Promise<T> {
  const scope = new Set<Tensor>();
  ENGINE.scopes.push(scope);
  let result: T;
  try {
    result = await fn();
  } finally {
    const i = ENGINE.scopes.lastIndexOf(scope);
    if (i >= 0) ENGINE.scopes.splice(i, 1);
  }
  return closeScope(scope, result);
}

/** Remove a tensor from the enclosing tidy scopes so that it survives them. */
export function keep<T extends Tensor>(t: T): T {
  for (const s of ENGINE.scopes) s.delete(t);
  return t;
}

function collectTensors(v: unknown, out: Set<Tensor>, depth = 0): void {
  if (depth > 4 || v === null || typeof v !== 'object') return;
  if (v instanceof Tensor) {
    out.add(v);
    return;
  }
  if (Array.isArray(v)) for (const x of v) collectTensors(x, out, depth + 1);
  else if (v instanceof Map) for (const x of v.values()) collectTensors(x, out, depth + 1);
  else if (Object.getPrototypeOf(v) === Object.prototype) for (const x of Object.values(v)) collectTensors(x, out, depth + 1);
}

/** Dispose every tensor found in a value (tensor, array, plain object or Map). */
export function dispose(v: unknown): void {
  const s = new Set<Tensor>();
  collectTensors(v, s);
  for (const t of s) t.dispose();
}

export function memory(): MemoryInfo {
  const byBackend: MemoryInfo['byBackend'] = {};
  let numBytes = 0;
  for (const t of ENGINE.live) {
    const b = (byBackend[t.backendName] ??= { numTensors: 0, numBytes: 0 });
    b.numTensors++;
    b.numBytes += t.bytes;
    numBytes += t.bytes;
  }
  return { numTensors: ENGINE.live.size, numBytes, byBackend };
}

/** Call `r` for every op from now on; returns the function that stops it. */
export function addOpRecorder(r: OpRecorder): () => void {
  ENGINE.recorders.add(r);
  return () => ENGINE.recorders.delete(r);
}

/** Create a tensor from host data on the active backend (or the host, for storage dtypes). */
export function fromData(data: Float32Array | Int32Array | Uint16Array, shape: Shape, dtype: DType, backend?: Backend): Tensor {
  if (isStorageDType(dtype)) return new Tensor(shape, dtype, null, new HostStorage(data as Uint16Array, dtype, data.length));
  const b = backend ?? currentBackend();
  return new Tensor(shape, dtype, b, b.upload(data as Float32Array | Int32Array, shape, dtype as ComputeDType));
}

/** A host tensor of 16-bit storage (float16 / bfloat16) whose bits may live in a file until they are read. */
export function storageTensor(host: HostStorage, shape: Shape): Tensor {
  return new Tensor(shape, host.dtype, null, host);
}

function hostStorageOf(t: Tensor): HostStorage {
  t.assertLive();
  if (t.backend !== null || !(t.handle instanceof HostStorage)) throw new SdxsError('DTYPE', `expected a 16-bit host storage tensor (float16 / bfloat16), got ${t.dtype} on ${t.backendName}`);
  return t.handle;
}

/** The 16-bit words of a host storage tensor, without a copy (read again from its file if they had left memory). */
export function storageBits(t: Tensor): Uint16Array {
  return hostStorageOf(t).bits;
}

/**
 * Rows of a host storage tensor read as [rows, rowLength] words, concatenated; a tensor still in its file gives
 * those rows alone, read from it in one pass.
 */
export function storageRows(t: Tensor, rows: ArrayLike<number>, rowLength: number): Uint16Array {
  return hostStorageOf(t).rows(rows, rowLength);
}

/** Execute one op on the inputs' backend. Shapes and dtypes were already inferred by the caller. */
export function runOp<K extends OpName>(
  op: K,
  inputs: readonly (Tensor | null)[],
  attrs: OpAttrs[K],
  outShape: Shape,
  outDtype: ComputeDType,
): Tensor {
  let backend: Backend | null = null;
  const kin: (KernelInput<unknown> | null)[] = [];
  for (const t of inputs) {
    if (t === null) {
      kin.push(null);
      continue;
    }
    t.assertLive();
    if (t.backend === null) {
      throw new SdxsError('DTYPE', `op '${op}' got a ${t.dtype} storage tensor; cast it to float32 first (cast(t, 'float32'))`);
    }
    if (backend && t.backend !== backend) {
      throw new SdxsError('UNSUPPORTED', `op '${op}' mixes tensors from backends '${backend.name}' and '${t.backend.name}'; move them with toBackend()`);
    }
    backend = t.backend;
    kin.push({ handle: t.handle, shape: t.shape, dtype: t.dtype as ComputeDType });
  }
  const b = backend ?? currentBackend();
  const handle = (b.kernels[op] as (i: typeof kin, a: OpAttrs[K], o: { shape: Shape; dtype: ComputeDType }) => unknown)(kin, attrs, {
    shape: outShape,
    dtype: outDtype,
  });
  const out = new Tensor(outShape, outDtype, b, handle);
  for (const r of ENGINE.recorders) r(op, inputs, attrs, out);
  return out;
}
