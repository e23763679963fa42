import type { DType } from '../dtype.js';
import { computeOf, currentBackend, ENGINE, fromData, storageTensor } from '../engine.js';
import { isStorageDType } from '../dtype.js';
import { asBits, HostStorage, readRange, readRangeSync } from '../io/host-storage.js';
import { viewAsSafetensorsArray } from '../io/safetensors-dtype.js';
import { CheckpointError, MemoryLimitError, throwIfAborted } from '../errors.js';
import { f8ToF32 } from '../io/float8.js';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16Checked, FLOAT16_MAX } from '../io/half.js';
import type { SafetensorsFile, SafetensorsTypedArray } from '../io/safetensors.js';
import type { SafetensorsDType } from '../io/safetensors-dtype.js';
import type { Tensor } from '../tensor.js';
import { checkKeys, type Module } from './module.js';

/**
 * How weights are kept: float32 (default); float16 / bfloat16 host storage converted to float32 per use;
 * or 'half': 16 bits without loss where the checkpoint is already 16-bit (F16 stays float16, BF16 stays
 * bfloat16) and float16 for float32 tensors — the choice for backends with little memory (tfjs-wasm: 4 GiB);
 * or 'source': the checkpoint's own precision (F16/BF16 stay 16-bit, the rest float32) — the default on the
 * graph backends (ort-*), whose compiled graphs cast 16-bit weights to float32 themselves.
 */
export type WeightDType = 'float32' | 'float16' | 'bfloat16' | 'half' | 'source';

export interface LoadWeightsOptions {
  /** dtype to keep weights in (see WeightDType); default float32 */
  dtype?: WeightDType;
  /** Report every missing/unexpected tensor (default true). Mis-shaped tensors always fail. */
  strict?: boolean;
  /** Checkpoint key prefix that maps onto the module root (e.g. 'model.language_model.'). */
  prefix?: string;
  /** Checkpoint keys to ignore entirely (never read), e.g. a vision tower. */
  skip?: (key: string) => boolean;
  /** Called after each tensor. */
  onProgress?: (p: { loaded: number; total: number; name: string }) => void;
  signal?: AbortSignal;
  /**
   * On graph backends (ort-*), 16-bit weights of local files are not kept in host memory: the compiled sessions
   * read them from the file, and the host reads them again when it needs them (default true).
   */
  fileBacked?: boolean;
}

/** Whether the active backend takes 16-bit host weights as they are (`Backend.fromStorage`: the graph backends, ort-*). */
const takesStorage = (): boolean => !!ENGINE.active?.fromStorage;

/**
 * float32, or the checkpoint's own precision on backends that take 16-bit weights as they are (graph backends,
 * ort-*, which cast them in the graph).
 */
export function defaultWeightDType(): WeightDType {
  if (ENGINE.active && computeOf(ENGINE.active) === 'float16') return 'float16';
  return takesStorage() ? 'source' : 'float32';
}

/**
 * On a backend that computes in float16, 16-bit policies keep every float tensor in float16: bfloat16 and
 * float32 checkpoints are converted once, here (convertRaw refuses a value beyond float16's range, naming
 * the tensor), so the compiled graphs never hold a second copy.
 */
function policyFor(policy: WeightDType): WeightDType {
  const f16 = ENGINE.active && computeOf(ENGINE.active) === 'float16';
  return f16 && (policy === 'half' || policy === 'source') ? 'float16' : policy;
}

/** Integer and boolean dtypes: never float weights (their values would be read as counts, not numbers). */
const NOT_FLOAT: ReadonlySet<SafetensorsDType> = new Set(['BOOL', 'U8', 'I8', 'I16', 'U16', 'I32', 'U32', 'I64', 'U64']);

/** Whether a safetensors dtype holds float values (F64, F32, F16, BF16, F8_E4M3, F8_E5M2). */
export function isFloatDType(dtype: SafetensorsDType): boolean {
  return !NOT_FLOAT.has(dtype);
}

/**
 * Convert a safetensors typed array to the requested sdxs dtype. Float targets take float sources only
 * (F8 formats decoded exactly); an integer or bool tensor where float weights belong is a CheckpointError.
 */
export function convertRaw(raw: SafetensorsTypedArray, from: SafetensorsDType, to: DType, where: string): Float32Array | Int32Array | Uint16Array {
  if (to === 'int32') {
    if (raw instanceof BigInt64Array || raw instanceof BigUint64Array) return Int32Array.from(raw, (v) => Number(v));
    return Int32Array.from(raw as ArrayLike<number>);
  }
  if (!isFloatDType(from)) {
    throw new CheckpointError(`${where}: the tensor is ${from}, an ${from === 'BOOL' ? 'boolean' : 'integer'} type, where float weights (F32, F16, BF16, F64, F8) are expected`);
  }
  let f32: Float32Array;
  if (from === 'F16' || from === 'BF16') {
    const bits = raw as Uint16Array;
    if ((from === 'F16' && to === 'float16') || (from === 'BF16' && to === 'bfloat16')) return bits;
    f32 = from === 'F16' ? f16ToF32(bits) : bf16ToF32(bits);
  } else if (from === 'F8_E4M3' || from === 'F8_E5M2') f32 = f8ToF32(raw as Uint8Array, from);
  else if (raw instanceof Float32Array) f32 = raw;
  else if (raw instanceof Float64Array) f32 = Float32Array.from(raw);
  else throw new CheckpointError(`${where}: cannot convert ${from} to ${to}`);
  if (to === 'float32') return f32;
  if (to === 'float16') {
    return f32ToF16Checked(f32, (x, i) => new CheckpointError(`${where}: value ${x} at index ${i} is beyond float16's range (±${FLOAT16_MAX}); keep this tensor in float32 or bfloat16 (compute: 'float32', dtype 'half' or 'source')`));
  }
  return f32ToBf16(f32);
}

/**
 * The dtype a checkpoint tensor is kept in under a WeightDType policy. Under 'half', float32 tensors become
 * float16 unless a value lies beyond float16's range (|x| > 65504), which bfloat16 keeps.
 */
export function storageFor(source: SafetensorsDType, policy: WeightDType, maxAbs = 0): 'float32' | 'float16' | 'bfloat16' {
  if (policy === 'source') return source === 'F16' ? 'float16' : source === 'BF16' ? 'bfloat16' : 'float32';
  if (policy !== 'half') return policy;
  if (source === 'BF16') return 'bfloat16';
  return source === 'F16' || maxAbs <= 65504 ? 'float16' : 'bfloat16';
}

async function readWeight(file: SafetensorsFile, name: string, policy: WeightDType, fileBacked: boolean): Promise<Tensor> {
  const info = file.info(name);
  const where = `${file.file} [${name}]`;
  let dtype: DType;
  let values: Float32Array | Int32Array | Uint16Array | null = null;
  if (policy !== 'half' || info.dtype === 'F16' || info.dtype === 'BF16') dtype = storageFor(info.dtype, policy);
  else {
    const f32 = convertRaw(await file.readTyped(name), info.dtype, 'float32', where) as Float32Array;
    let maxAbs = 0;
    for (let i = 0; i < f32.length; i++) maxAbs = Math.max(maxAbs, Math.abs(f32[i]!));
    dtype = storageFor(info.dtype, policy, maxAbs);
    values = convertRaw(f32, 'F32', dtype, where);
  }
  const storage = isStorageDType(dtype) ? dtype : null;
  const range = fileBacked && storage ? file.fileRange?.(name) : undefined;
  if (range && storage) {
    // a 16-bit weight of a local file on a graph backend: its bits can leave host memory once a compiled session
    // holds them, and are read again from the file when needed; the file's own bytes are not read here at all
    const exact = (info.dtype === 'F16' && storage === 'float16') || (info.dtype === 'BF16' && storage === 'bfloat16');
    const convert = (b: Uint8Array): Uint16Array => (exact ? asBits(b) : (convertRaw(viewAsSafetensorsArray(info.dtype, b), info.dtype, storage, where) as Uint16Array));
    const source = {
      file: exact ? range : undefined,
      where,
      read: async () => convert(await readRange(range, where)),
      readSync: () => convert(readRangeSync(range, where)),
    };
    const n = info.shape.reduce((a, d) => a * d, 1);
    if (exact) return storageTensor(new HostStorage(null, storage, n, source), info.shape);
    values ??= convertRaw(await file.readTyped(name), info.dtype, storage, where);
    return storageTensor(new HostStorage(values as Uint16Array, storage, n, source), info.shape);
  }
  if (values) return fromData(values, info.shape, dtype);
  return readTensor(file, name, dtype);
}

/** Read one tensor of a safetensors file as an sdxs Tensor. */
export async function readTensor(file: SafetensorsFile, name: string, dtype: DType = 'float32'): Promise<Tensor> {
  const info = file.info(name);
  const raw = await file.readTyped(name);
  return fromData(convertRaw(raw, info.dtype, dtype, `${file.file} [${name}]`), info.shape, dtype);
}

/**
 * Stream a checkpoint into a module, tensor by tensor (each one is read, converted and uploaded before
 * the next, so peak host memory is one tensor). Keys are checked first: every missing, unexpected and
 * mis-shaped tensor is reported in one CheckpointError naming the file. Returns the resident bytes.
 */
export async function loadWeights(module: Module, files: SafetensorsFile | readonly SafetensorsFile[], opts: LoadWeightsOptions = {}): Promise<number> {
  const list = Array.isArray(files) ? files : [files as SafetensorsFile];
  const prefix = opts.prefix ?? '';
  const params = new Map(module.namedParameters());
  const entries: [string, readonly number[], SafetensorsFile, string][] = [];
  for (const f of list) {
    for (const key of f.names()) {
      if (opts.skip?.(key)) continue;
      if (prefix && !key.startsWith(prefix)) {
        entries.push([key, f.info(key).shape, f, key]);
        continue;
      }
      entries.push([key.slice(prefix.length), f.info(key).shape, f, key]);
    }
  }
  const where = list.map((f) => f.file).join(', ');
  const problems = checkKeys(params, entries.map(([k, s]) => [k, s] as const), opts.strict ?? true);
  if (problems) throw new CheckpointError(`${where}: checkpoint does not match the model: ${problems}`);
  let bytes = 0;
  let loaded = 0;
  const policy = policyFor(opts.dtype ?? defaultWeightDType());
  // backends that take 16-bit weights as they are read them from their files themselves (the host keeps no copy once a session has them)
  const fileBacked = takesStorage() && opts.fileBacked !== false;
  const todo = entries.filter(([k]) => params.has(k));
  checkFits(todo.map(([, shape, f, key]) => [shape, f.info(key).dtype] as const), policy, where);
  for (const [k, , f, key] of todo) {
    throwIfAborted(opts.signal);
    const p = params.get(k)!;
    const t = await readWeight(f, key, policy, fileBacked);
    p.set(t);
    bytes += t.bytes;
    opts.onProgress?.({ loaded: ++loaded, total: todo.length, name: k });
  }
  return bytes;
}

const GB = (n: number): string => `${(n / 1e9).toFixed(1)} GB`;

/**
 * Refuses, before anything is read, weights whose resident size would pass the backend's memory limit
 * (tfjs-wasm's 4 GiB heap aborts the wasm module with a bare RuntimeError), naming the dtype that fits.
 */
function checkFits(tensors: readonly (readonly [readonly number[], SafetensorsDType])[], policy: WeightDType, where: string): void {
  const b = currentBackend();
  const limit = b.memoryLimitBytes;
  if (limit === undefined) return;
  let need = 0;
  let needHalf = 0;
  for (const [shape, dtype] of tensors) {
    const n = shape.reduce((a, d) => a * d, 1);
    need += n * (storageFor(dtype, policy) === 'float32' ? 4 : 2);
    needHalf += n * 2;
  }
  const held = b.backendBytes?.() ?? 0;
  // Keep a quarter of the heap for activations.
  const room = limit * 0.75 - held;
  if (need <= room) return;
  const fix =
    needHalf <= room && policy !== 'half' && policy !== 'float16' && policy !== 'bfloat16' && policy !== 'source'
      ? `load with dtype: 'float16' (or 'half'; --dtype half in the CLI) to keep the weights in 16 bits (${GB(needHalf)})`
      : 'use a backend without this limit (cpu, tfjs-node, a GPU backend)';
  throw new MemoryLimitError(
    `${where}: the weights need about ${GB(need)} as ${policy}, but backend '${b.name}' holds at most ${GB(limit)} ` +
      `(${GB(held)} already in use, a quarter kept for activations); ${fix}`,
  );
}
