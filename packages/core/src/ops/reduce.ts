import type { ReduceFn } from '../backend.js';
import { runOp } from '../engine.js';
import { DTypeError } from '../errors.js';
import { normAxis } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { reshape, swapAxes } from './shape.js';

function reduce(fn: ReduceFn, x: Tensor, axis?: number | readonly number[], keepDims = false): Tensor {
  if (x.dtype !== 'float32' && x.dtype !== 'int32') throw new DTypeError(`${fn} needs a compute dtype, got ${x.dtype}`);
  const axes = axis === undefined ? x.shape.map((_, i) => i) : (typeof axis === 'number' ? [axis] : [...axis]).map((a) => normAxis(a, x.rank));
  const sorted = [...new Set(axes)].sort((a, b) => a - b);
  const kept = x.shape.map((d, i) => (sorted.includes(i) ? 1 : d));
  const dtype = fn === 'mean' ? 'float32' : x.dtype;
  const out = runOp('reduce', [x], { fn, axes: sorted }, kept, dtype);
  if (keepDims) return out;
  const r = reshape(out, x.shape.filter((_, i) => !sorted.includes(i)));
  out.dispose();
  return r;
}

export const sum = (x: Tensor, axis?: number | readonly number[], keepDims = false): Tensor => reduce('sum', x, axis, keepDims);
export const mean = (x: Tensor, axis?: number | readonly number[], keepDims = false): Tensor => reduce('mean', x, axis, keepDims);
export const max = (x: Tensor, axis?: number | readonly number[], keepDims = false): Tensor => reduce('max', x, axis, keepDims);
export const min = (x: Tensor, axis?: number | readonly number[], keepDims = false): Tensor => reduce('min', x, axis, keepDims);

export function cumsum(x: Tensor, axis = -1, opts: { exclusive?: boolean; reverse?: boolean } = {}): Tensor {
  if (x.dtype !== 'float32' && x.dtype !== 'int32') throw new DTypeError(`cumsum needs a compute dtype, got ${x.dtype}`);
  return runOp('cumsum', [x], { axis: normAxis(axis, x.rank), exclusive: opts.exclusive ?? false, reverse: opts.reverse ?? false }, x.shape, x.dtype);
}

/** Softmax along an axis (the last by default). */
export function softmax(x: Tensor, axis = -1): Tensor {
  if (x.dtype !== 'float32') throw new DTypeError(`softmax needs float32, got ${x.dtype}`);
  const a = normAxis(axis, x.rank);
  if (a === x.rank - 1) return runOp('softmax', [x], {}, x.shape, 'float32');
  const t = swapAxes(x, a, -1);
  const s = runOp('softmax', [t], {}, t.shape, 'float32');
  t.dispose();
  const out = swapAxes(s, a, -1);
  s.dispose();
  return out;
}
