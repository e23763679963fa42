import type { WeightKind } from '../backend.js';
import type { ComputeDType, DType } from '../dtype.js';
import { allocArray, isStorageDType } from '../dtype.js';
import { currentBackend, fromData, backendInstance, runOp } from '../engine.js';
import { DTypeError, ShapeError } from '../errors.js';
import { RandomGenerator } from '../random.js';
import type { Shape } from '../shape.js';
import { checkShape, fmtShape, sizeOf } from '../shape.js';
import { Tensor } from '../tensor.js';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../io/half.js';
import type { HostStorage } from '../io/host-storage.js';

type Values = number | readonly number[] | Float32Array | Int32Array | Uint16Array;

/** Create a tensor from values (flat) and a shape; dtype defaults to float32 (int32 for Int32Array). */
export function tensor(values: Values, shape?: Shape, dtype?: DType): Tensor {
  const dt: DType = dtype ?? (values instanceof Int32Array ? 'int32' : values instanceof Uint16Array ? 'float16' : 'float32');
  const flat = typeof values === 'number' ? [values] : values;
  const shp = shape ?? (typeof values === 'number' ? [] : [flat.length]);
  checkShape(shp);
  if (sizeOf(shp) !== flat.length) throw new ShapeError(`${flat.length} values cannot fill shape ${fmtShape(shp)}`);
  let data: Float32Array | Int32Array | Uint16Array;
  if (dt === 'float32') data = flat instanceof Float32Array ? flat.slice() : Float32Array.from(flat as ArrayLike<number>);
  else if (dt === 'int32') data = flat instanceof Int32Array ? flat.slice() : Int32Array.from(flat as ArrayLike<number>);
  else if (flat instanceof Uint16Array) data = flat.slice();
  else {
    const f = Float32Array.from(flat as ArrayLike<number>);
    data = dt === 'float16' ? f32ToF16(f) : f32ToBf16(f);
  }
  return fromData(data, shp, dt);
}

export function scalar(v: number, dtype: ComputeDType = 'float32'): Tensor {
  return tensor([v], [], dtype);
}

export function full(shape: Shape, value: number, dtype: ComputeDType = 'float32'): Tensor {
  checkShape(shape);
  const a = allocArray(dtype, sizeOf(shape)) as Float32Array | Int32Array;
  a.fill(value);
  return fromData(a, shape, dtype);
}
export const zeros = (shape: Shape, dtype: ComputeDType = 'float32'): Tensor => full(shape, 0, dtype);
export const ones = (shape: Shape, dtype: ComputeDType = 'float32'): Tensor => full(shape, 1, dtype);

export function arange(start: number, stop?: number, step = 1, dtype: ComputeDType = 'float32'): Tensor {
  const [a, b] = stop === undefined ? [0, start] : [start, stop];
  const n = Math.max(0, Math.ceil((b - a) / step));
  const arr = allocArray(dtype, n) as Float32Array | Int32Array;
  for (let i = 0; i < n; i++) arr[i] = a + i * step;
  return fromData(arr, [n], dtype);
}

export interface RandomOptions {
  seed?: number;
  generator?: RandomGenerator;
  mean?: number;
  std?: number;
}
/** Standard normal samples; the same seed gives the same values on every backend. */
export function randomNormal(shape: Shape, opts: RandomOptions = {}): Tensor {
  checkShape(shape);
  const g = opts.generator ?? new RandomGenerator(opts.seed ?? Date.now());
  return fromData(g.fillNormal(new Float32Array(sizeOf(shape)), opts.mean ?? 0, opts.std ?? 1), shape, 'float32');
}
export function randomUniform(shape: Shape, opts: { seed?: number; generator?: RandomGenerator; low?: number; high?: number } = {}): Tensor {
  checkShape(shape);
  const g = opts.generator ?? new RandomGenerator(opts.seed ?? Date.now());
  return fromData(g.fillUniform(new Float32Array(sizeOf(shape)), opts.low ?? 0, opts.high ?? 1), shape, 'float32');
}

/**
 * Cast between compute dtypes on the backend, or from a 16-bit storage tensor to float32 (exact).
 * Casting float32 to a storage dtype needs a read: use `toStorage`.
 */
export function cast(x: Tensor, dtype: DType): Tensor {
  return castTo(x, dtype, null);
}

/**
 * `cast`, where a 16-bit storage tensor going to float32 goes through the backend's `fromStorage` where it has
 * one (graph backends keep it 16-bit and cast it inside the compiled graph: baked into it when `weight` is
 * 'constant', a frozen parameter keyed by identity, else fed per run); other backends widen it on the host.
 */
export function castTo(x: Tensor, dtype: DType, weight: WeightKind | null): Tensor {
  if (x.dtype === dtype) return runOp('reshape', [x], { shape: [...x.shape] }, x.shape, dtype as ComputeDType);
  if (isStorageDType(x.dtype)) {
    x.assertLive();
    const host = x.handle as HostStorage;
    const active = currentBackend();
    if (dtype === 'float32' && active.fromStorage) return new Tensor(x.shape, 'float32', active, active.fromStorage(host, x.shape, weight));
    const bits = host.bits;
    const f = x.dtype === 'float16' ? f16ToF32(bits) : bf16ToF32(bits);
    if (dtype === 'float32') return fromData(f, x.shape, 'float32');
    if (dtype === 'int32') return cast(fromData(f, x.shape, 'float32'), 'int32');
    return fromData(dtype === 'float16' ? f32ToF16(f) : f32ToBf16(f), x.shape, dtype);
  }
  if (isStorageDType(dtype)) throw new DTypeError(`cast to '${dtype}' needs a device read: use await toStorage(t, '${dtype}')`);
  return runOp('cast', [x], { dtype: dtype as ComputeDType }, x.shape, dtype as ComputeDType);
}

/** Convert a compute tensor to 16-bit host storage (round-to-nearest-even). */
export async function toStorage(x: Tensor, dtype: 'float16' | 'bfloat16'): Promise<Tensor> {
  if (x.dtype === dtype) return x;
  const f = x.dtype === 'float32' ? ((await x.data()) as Float32Array) : Float32Array.from(await x.data());
  return fromData(dtype === 'float16' ? f32ToF16(f) : f32ToBf16(f), x.shape, dtype);
}

/** Copy a tensor to another backend (by name). */
export async function toBackend(x: Tensor, name: string): Promise<Tensor> {
  const b = await backendInstance(name);
  if (x.backend === null) return fromData((await (x.handle as HostStorage).load()).slice(), x.shape, x.dtype);
  const d = await x.data();
  return fromData(d, x.shape, x.dtype, b);
}

/** The active backend's name, for code that wants to place tensors explicitly. */
export const activeBackendName = (): string => currentBackend().name;
