import type { PadMode } from '../backend.js';
import type { ComputeDType } from '../dtype.js';
import { runOp } from '../engine.js';
import { DTypeError, ShapeError } from '../errors.js';
import type { Shape } from '../shape.js';
import { fmtShape, normAxis, sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';

const cdt = (t: Tensor): ComputeDType => {
  if (t.dtype !== 'float32' && t.dtype !== 'int32') throw new DTypeError(`${t.dtype} storage tensors must be cast to float32 before compute`);
  return t.dtype;
};

/** Reshape; one dimension may be -1. */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const s = [...shape];
  const inferred = s.indexOf(-1);
  if (inferred >= 0) {
    const rest = sizeOf(s.filter((_, i) => i !== inferred));
    if (rest === 0 || x.size % rest !== 0) throw new ShapeError(`cannot reshape ${fmtShape(x.shape)} to ${fmtShape(shape)}`);
    s[inferred] = x.size / rest;
  }
  if (sizeOf(s) !== x.size || s.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ShapeError(`cannot reshape ${fmtShape(x.shape)} (${x.size} elements) to ${fmtShape(shape)}`);
  }
  return runOp('reshape', [x], { shape: s }, s, cdt(x));
}

export function flatten(x: Tensor, startAxis = 0, endAxis = -1): Tensor {
  const s = normAxis(startAxis, x.rank);
  const e = normAxis(endAxis, x.rank);
  return reshape(x, [...x.shape.slice(0, s), sizeOf(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)]);
}

export function unsqueeze(x: Tensor, axis: number): Tensor {
  const a = axis < 0 ? axis + x.rank + 1 : axis;
  return reshape(x, [...x.shape.slice(0, a), 1, ...x.shape.slice(a)]);
}

export function squeeze(x: Tensor, axis?: number): Tensor {
  if (axis === undefined) return reshape(x, x.shape.filter((d) => d !== 1));
  const a = normAxis(axis, x.rank);
  if (x.shape[a] !== 1) throw new ShapeError(`cannot squeeze axis ${axis} of size ${x.shape[a]}`);
  return reshape(x, x.shape.filter((_, i) => i !== a));
}

export function transpose(x: Tensor, perm?: readonly number[]): Tensor {
  const p = perm ? perm.map((a) => normAxis(a, x.rank)) : x.shape.map((_, i) => x.rank - 1 - i);
  if (p.length !== x.rank || new Set(p).size !== p.length) throw new ShapeError(`bad permutation [${perm?.join(', ')}] for rank ${x.rank}`);
  return runOp('transpose', [x], { perm: p }, p.map((a) => x.shape[a]!), cdt(x));
}

/** Swap two axes. */
export function swapAxes(x: Tensor, a: number, b: number): Tensor {
  const p = x.shape.map((_, i) => i);
  const [i, j] = [normAxis(a, x.rank), normAxis(b, x.rank)];
  [p[i], p[j]] = [p[j]!, p[i]!];
  return transpose(x, p);
}

/** slice(x, begin, size); size -1 means "to the end"; negative begins count from the end. */
export function slice(x: Tensor, begin: readonly number[], size?: readonly number[]): Tensor {
  const b = x.shape.map((d, i) => {
    const v = begin[i] ?? 0;
    return v < 0 ? v + d : v;
  });
  const s = x.shape.map((d, i) => {
    const v = size?.[i] ?? -1;
    return v < 0 ? d - b[i]! : v;
  });
  for (let i = 0; i < x.rank; i++) {
    if (b[i]! < 0 || s[i]! < 0 || b[i]! + s[i]! > x.shape[i]!) {
      throw new ShapeError(`slice begin [${begin.join(', ')}] size [${size?.join(', ') ?? ''}] is out of bounds for ${fmtShape(x.shape)}`);
    }
  }
  return runOp('slice', [x], { begin: b, size: s }, s, cdt(x));
}

/** Slice [start, end) along one axis. */
export function sliceAxis(x: Tensor, axis: number, start: number, end: number): Tensor {
  const a = normAxis(axis, x.rank);
  const begin = x.shape.map(() => 0);
  const size = x.shape.map(() => -1);
  begin[a] = start;
  size[a] = end - start;
  return slice(x, begin, size);
}

export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new ShapeError('concat of zero tensors');
  const first = xs[0]!;
  const a = normAxis(axis, first.rank);
  let total = 0;
  for (const t of xs) {
    if (t.rank !== first.rank || t.shape.some((d, i) => i !== a && d !== first.shape[i])) {
      throw new ShapeError(`concat on axis ${axis}: ${fmtShape(t.shape)} does not match ${fmtShape(first.shape)}`);
    }
    if (t.dtype !== first.dtype) throw new DTypeError(`concat: dtypes differ (${t.dtype} vs ${first.dtype})`);
    total += t.shape[a]!;
  }
  const shape = [...first.shape];
  shape[a] = total;
  return runOp('concat', xs, { axis: a }, shape, cdt(first));
}

export const stack = (xs: readonly Tensor[], axis = 0): Tensor => {
  const parts = xs.map((t) => unsqueeze(t, axis));
  const out = concat(parts, axis);
  for (const p of parts) p.dispose();
  return out;
};

/** Split into pieces of the given sizes (or n equal pieces) along an axis. */
export function split(x: Tensor, sizesOrCount: number | readonly number[], axis = 0): Tensor[] {
  const a = normAxis(axis, x.rank);
  const d = x.shape[a]!;
  const sizes = typeof sizesOrCount === 'number' ? new Array<number>(sizesOrCount).fill(d / sizesOrCount) : [...sizesOrCount];
  if (sizes.some((s) => !Number.isInteger(s) || s < 0) || sizes.reduce((p, c) => p + c, 0) !== d) {
    throw new ShapeError(`cannot split axis ${axis} of size ${d} into [${sizes.join(', ')}]`);
  }
  let off = 0;
  return sizes.map((s) => {
    const t = sliceAxis(x, a, off, off + s);
    off += s;
    return t;
  });
}

/** Gather slices along an axis by int32 indices (embedding lookup is gather(weight, ids, 0)). */
export function gather(x: Tensor, indices: Tensor, axis = 0): Tensor {
  if (indices.dtype !== 'int32') throw new DTypeError(`gather indices must be int32, got ${indices.dtype}`);
  const a = normAxis(axis, x.rank);
  const shape = [...x.shape.slice(0, a), ...indices.shape, ...x.shape.slice(a + 1)];
  return runOp('gather', [x, indices], { axis: a }, shape, cdt(x));
}

/** Pad with [before, after] per axis (missing leading axes are not padded). */
export function pad(x: Tensor, pads: readonly (readonly [number, number])[], mode: PadMode = 'constant', value = 0): Tensor {
  const full: [number, number][] = x.shape.map((_, i) => {
    const p = pads[i - (x.rank - pads.length)];
    return p ? [p[0], p[1]] : [0, 0];
  });
  full.forEach(([b, e], i) => {
    if (b < 0 || e < 0) throw new ShapeError('negative padding is not supported; use slice');
    if (mode === 'reflect' && (b >= x.shape[i]! || e >= x.shape[i]!) && (b > 0 || e > 0)) {
      throw new ShapeError(`reflect padding ${b}/${e} must be smaller than the axis size ${x.shape[i]}`);
    }
  });
  const shape = x.shape.map((d, i) => d + full[i]![0] + full[i]![1]);
  return runOp('pad', [x], { pads: full, mode, value }, shape, cdt(x));
}

/** Broadcast to a shape (materialised). */
export function broadcastTo(x: Tensor, shape: Shape): Tensor {
  const lead = shape.length - x.rank;
  if (lead < 0 || x.shape.some((d, i) => d !== 1 && d !== shape[lead + i])) {
    throw new ShapeError(`cannot broadcast ${fmtShape(x.shape)} to ${fmtShape(shape)}`);
  }
  const reps = shape.map((d, i) => (i < lead ? d : x.shape[i - lead] === 1 ? d : 1));
  return repeatAxes(reshape(x, [...new Array<number>(lead).fill(1), ...x.shape]), reps);
}

/** Tile each axis `reps[i]` times (only axes of size 1 or full repeats). */
export function repeatAxes(x: Tensor, reps: readonly number[]): Tensor {
  let cur = x;
  for (let i = 0; i < reps.length; i++) {
    const r = reps[i]!;
    if (r === 1) continue;
    const next = concat(new Array<Tensor>(r).fill(cur), i);
    if (cur !== x) cur.dispose();
    cur = next;
  }
  return cur === x ? reshape(x, x.shape) : cur;
}
