import type { KernelInput, KernelOutput, OpAttrs } from '../../backend.js';
import { stridesOf } from '../../shape.js';
import { alloc, type Arr } from './elementwise.js';
import { coalesce, forEachRow } from './strided.js';

type I = KernelInput<Arr>;

export function transposeKernel(x: I, perm: readonly number[], out: KernelOutput): Arr {
  const r = alloc(out);
  const inStr = stridesOf(x.shape);
  const { shape, strides } = coalesce(out.shape, [perm.map((p) => inStr[p]!)]);
  const a = x.handle;
  const s = strides[0]![shape.length - 1]!;
  const len = shape[shape.length - 1]!;
  forEachRow(shape, strides, (o, offs) => {
    let ia = offs[0]!;
    for (let i = 0; i < len; i++, ia += s) r[o + i] = a[ia]!;
  });
  return r;
}

export function sliceKernel(x: I, begin: readonly number[], out: KernelOutput): Arr {
  const r = alloc(out);
  const inStr = stridesOf(x.shape);
  let base = 0;
  for (let i = 0; i < begin.length; i++) base += begin[i]! * inStr[i]!;
  const { shape, strides } = coalesce(out.shape, [inStr]);
  const a = x.handle;
  const s = strides[0]![shape.length - 1]!;
  const len = shape[shape.length - 1]!;
  forEachRow(shape, strides, (o, offs) => {
    const ia = base + offs[0]!;
    if (s === 1) r.set(a.subarray(ia, ia + len), o);
    else for (let i = 0; i < len; i++) r[o + i] = a[ia + i * s]!;
  });
  return r;
}

export function concatKernel(xs: readonly I[], axis: number, out: KernelOutput): Arr {
  const r = alloc(out);
  const outer = out.shape.slice(0, axis).reduce((p, c) => p * c, 1);
  const inner = out.shape.slice(axis + 1).reduce((p, c) => p * c, 1);
  const rowOut = out.shape[axis]! * inner;
  let off = 0;
  for (const x of xs) {
    const row = x.shape[axis]! * inner;
    const a = x.handle;
    for (let o = 0; o < outer; o++) r.set(a.subarray(o * row, (o + 1) * row), o * rowOut + off);
    off += row;
  }
  return r;
}

export function gatherKernel(x: I, idx: KernelInput<Int32Array>, axis: number, out: KernelOutput): Arr {
  const r = alloc(out);
  const outer = x.shape.slice(0, axis).reduce((p, c) => p * c, 1);
  const inner = x.shape.slice(axis + 1).reduce((p, c) => p * c, 1);
  const n = x.shape[axis]!;
  const ids = idx.handle;
  const a = x.handle;
  for (const i of ids) {
    if (i < 0 || i >= n) throw new RangeError(`gather index ${i} is out of range [0, ${n})`);
  }
  let o = 0;
  for (let p = 0; p < outer; p++) {
    for (let j = 0; j < ids.length; j++) {
      const src = (p * n + ids[j]!) * inner;
      r.set(a.subarray(src, src + inner), o);
      o += inner;
    }
  }
  return r;
}

export function padKernel(x: I, attrs: OpAttrs['pad'], out: KernelOutput): Arr {
  const r = alloc(out);
  const { pads, mode, value } = attrs;
  const rank = x.shape.length;
  if (mode === 'constant') r.fill(value);
  const inStr = stridesOf(x.shape);
  const outStr = stridesOf(out.shape);
  const a = x.handle;
  if (rank === 0 || a.length === 0) return r;
  // Map each output coordinate per axis to a source coordinate (or -1 for constant padding).
  const maps = x.shape.map((d, ax) => {
    const m = new Int32Array(out.shape[ax]!);
    for (let i = 0; i < m.length; i++) {
      let s = i - pads[ax]![0];
      if (s < 0 || s >= d) {
        if (mode === 'constant') s = -1;
        else {
          s = s < 0 ? -s : 2 * (d - 1) - s;
          if (d === 1) s = 0;
        }
      }
      m[i] = s;
    }
    return m;
  });
  const idx = new Array<number>(rank).fill(0);
  const last = out.shape[rank - 1]!;
  const lastMap = maps[rank - 1]!;
  const total = r.length;
  for (let o = 0; o < total; o += last) {
    let src = 0;
    let skip = false;
    for (let ax = 0; ax < rank - 1; ax++) {
      const s = maps[ax]![idx[ax]!]!;
      if (s < 0) { skip = true; break; }
      src += s * inStr[ax]!;
    }
    if (!skip) for (let i = 0; i < last; i++) { const s = lastMap[i]!; if (s >= 0) r[o + i] = a[src + s]!; }
    for (let ax = rank - 2; ax >= 0; ax--) {
      idx[ax]!++;
      if (idx[ax]! < out.shape[ax]!) break;
      idx[ax] = 0;
    }
  }
  void outStr;
  return r;
}

export function castKernel(x: I, out: KernelOutput): Arr {
  const r = alloc(out);
  const a = x.handle;
  if (out.dtype === 'int32') for (let i = 0; i < a.length; i++) r[i] = Math.trunc(a[i]!);
  else r.set(a);
  return r;
}
