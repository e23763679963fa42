import type { BinaryFn, KernelInput, KernelOutput, UnaryFn } from '../../backend.js';
import { allocArray } from '../../dtype.js';
import { sizeOf } from '../../shape.js';
import { BINARY, UNARY } from './scalar-math.js';
import { broadcastStrides, coalesce, forEachRow } from './strided.js';

export type Arr = Float32Array | Int32Array;
export const alloc = (out: KernelOutput): Arr => allocArray(out.dtype, sizeOf(out.shape)) as Arr;

export function unaryKernel(x: KernelInput<Arr>, fn: UnaryFn, out: KernelOutput): Arr {
  const a = x.handle;
  const r = alloc(out);
  const f = UNARY[fn];
  if (fn === 'silu') for (let i = 0; i < a.length; i++) { const v = a[i]!; r[i] = v / (1 + Math.exp(-v)); }
  else for (let i = 0; i < a.length; i++) r[i] = f(a[i]!);
  return r;
}

export function binaryKernel(x: KernelInput<Arr>, y: KernelInput<Arr>, fn: BinaryFn, out: KernelOutput): Arr {
  const a = x.handle;
  const b = y.handle;
  const r = alloc(out);
  const f = BINARY[fn];
  const { shape, strides } = coalesce(out.shape, [broadcastStrides(x.shape, out.shape), broadcastStrides(y.shape, out.shape)]);
  const last = shape.length - 1;
  const sa = strides[0]![last]!;
  const sb = strides[1]![last]!;
  const len = shape[last]!;
  forEachRow(shape, strides, (o, offs) => {
    let ia = offs[0]!;
    let ib = offs[1]!;
    switch (fn) {
      case 'add':
        for (let i = 0; i < len; i++, ia += sa, ib += sb) r[o + i] = a[ia]! + b[ib]!;
        return;
      case 'sub':
        for (let i = 0; i < len; i++, ia += sa, ib += sb) r[o + i] = a[ia]! - b[ib]!;
        return;
      case 'mul':
        for (let i = 0; i < len; i++, ia += sa, ib += sb) r[o + i] = a[ia]! * b[ib]!;
        return;
      default:
        for (let i = 0; i < len; i++, ia += sa, ib += sb) r[o + i] = f(a[ia]!, b[ib]!);
    }
  });
  return r;
}

export function whereKernel(c: KernelInput<Arr>, x: KernelInput<Arr>, y: KernelInput<Arr>, out: KernelOutput): Arr {
  const r = alloc(out);
  const { shape, strides } = coalesce(out.shape, [c, x, y].map((t) => broadcastStrides(t.shape, out.shape)));
  const last = shape.length - 1;
  const [sc, sx, sy] = strides.map((s) => s[last]!) as [number, number, number];
  const len = shape[last]!;
  const C = c.handle, X = x.handle, Y = y.handle;
  forEachRow(shape, strides, (o, offs) => {
    let ic = offs[0]!, ix = offs[1]!, iy = offs[2]!;
    for (let i = 0; i < len; i++, ic += sc, ix += sx, iy += sy) r[o + i] = C[ic]! !== 0 ? X[ix]! : Y[iy]!;
  });
  return r;
}
