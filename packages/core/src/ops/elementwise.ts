import type { BinaryFn, UnaryFn } from '../backend.js';
import type { ComputeDType } from '../dtype.js';
import { fromData, runOp } from '../engine.js';
import { DTypeError } from '../errors.js';
import { broadcastShapes } from '../shape.js';
import { Tensor } from '../tensor.js';

export type TensorLike = Tensor | number;

function asTensor(v: TensorLike, like: Tensor): Tensor {
  if (v instanceof Tensor) return v;
  const dt = like.dtype === 'int32' && Number.isInteger(v) ? 'int32' : 'float32';
  return fromData(dt === 'int32' ? Int32Array.of(v) : Float32Array.of(v), [], dt, like.backend ?? undefined);
}

function computeDType(t: Tensor, op: string): ComputeDType {
  if (t.dtype !== 'float32' && t.dtype !== 'int32') throw new DTypeError(`${op} needs float32 or int32, got ${t.dtype}; cast storage tensors first`);
  return t.dtype;
}

export function unary(fn: UnaryFn, x: Tensor): Tensor {
  return runOp('unary', [x], { fn }, x.shape, computeDType(x, fn));
}

export function binary(fn: BinaryFn, a: TensorLike, b: TensorLike): Tensor {
  if (!(a instanceof Tensor) && !(b instanceof Tensor)) throw new DTypeError(`${fn} needs at least one tensor`);
  const ta = a instanceof Tensor ? a : asTensor(a, b as Tensor);
  const tb = b instanceof Tensor ? b : asTensor(b, ta);
  const da = computeDType(ta, fn);
  const db = computeDType(tb, fn);
  if (da !== db) throw new DTypeError(`${fn}: dtypes differ (${da} vs ${db}); cast one of them`);
  const out = runOp('binary', [ta, tb], { fn }, broadcastShapes(ta.shape, tb.shape), da);
  if (ta !== a) ta.dispose();
  if (tb !== b) tb.dispose();
  return out;
}

export const add = (a: TensorLike, b: TensorLike): Tensor => binary('add', a, b);
export const sub = (a: TensorLike, b: TensorLike): Tensor => binary('sub', a, b);
export const mul = (a: TensorLike, b: TensorLike): Tensor => binary('mul', a, b);
export const div = (a: TensorLike, b: TensorLike): Tensor => binary('div', a, b);
export const pow = (a: TensorLike, b: TensorLike): Tensor => binary('pow', a, b);
export const maximum = (a: TensorLike, b: TensorLike): Tensor => binary('maximum', a, b);
export const minimum = (a: TensorLike, b: TensorLike): Tensor => binary('minimum', a, b);
export const equal = (a: TensorLike, b: TensorLike): Tensor => binary('eq', a, b);
export const notEqual = (a: TensorLike, b: TensorLike): Tensor => binary('ne', a, b);
export const less = (a: TensorLike, b: TensorLike): Tensor => binary('lt', a, b);
export const lessEqual = (a: TensorLike, b: TensorLike): Tensor => binary('le', a, b);
export const greater = (a: TensorLike, b: TensorLike): Tensor => binary('gt', a, b);
export const greaterEqual = (a: TensorLike, b: TensorLike): Tensor => binary('ge', a, b);

export const neg = (x: Tensor): Tensor => unary('neg', x);
export const exp = (x: Tensor): Tensor => unary('exp', x);
export const log = (x: Tensor): Tensor => unary('log', x);
export const sqrt = (x: Tensor): Tensor => unary('sqrt', x);
export const rsqrt = (x: Tensor): Tensor => unary('rsqrt', x);
export const abs = (x: Tensor): Tensor => unary('abs', x);
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', x);
export const silu = (x: Tensor): Tensor => unary('silu', x);
/** GELU with the exact erf form (PyTorch's default). */
export const gelu = (x: Tensor): Tensor => unary('gelu', x);
export const geluTanh = (x: Tensor): Tensor => unary('gelu_tanh', x);
export const softplus = (x: Tensor): Tensor => unary('softplus', x);
export const tanh = (x: Tensor): Tensor => unary('tanh', x);
export const sin = (x: Tensor): Tensor => unary('sin', x);
export const cos = (x: Tensor): Tensor => unary('cos', x);
export const square = (x: Tensor): Tensor => unary('square', x);
export const reciprocal = (x: Tensor): Tensor => unary('reciprocal', x);
export const relu = (x: Tensor): Tensor => unary('relu', x);
export const floor = (x: Tensor): Tensor => unary('floor', x);
export const sign = (x: Tensor): Tensor => unary('sign', x);
export const erf = (x: Tensor): Tensor => unary('erf', x);

/** where(cond, a, b): a where cond != 0, else b; broadcasting over all three. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const like = a instanceof Tensor ? a : b instanceof Tensor ? b : cond;
  const ta = a instanceof Tensor ? a : asTensor(a, like);
  const tb = b instanceof Tensor ? b : asTensor(b, like);
  if (ta.dtype !== tb.dtype) throw new DTypeError(`where: dtypes differ (${ta.dtype} vs ${tb.dtype})`);
  const shape = broadcastShapes(broadcastShapes(cond.shape, ta.shape), tb.shape);
  const out = runOp('where', [cond, ta, tb], {}, shape, computeDType(ta, 'where'));
  if (ta !== a) ta.dispose();
  if (tb !== b) tb.dispose();
  return out;
}

/** clamp(x, lo, hi) */
export function clamp(x: Tensor, lo: number, hi: number): Tensor {
  const a = maximum(x, lo);
  const out = minimum(a, hi);
  a.dispose();
  return out;
}
