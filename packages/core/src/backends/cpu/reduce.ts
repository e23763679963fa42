import type { KernelInput, KernelOutput, ReduceFn } from '../../backend.js';
import { stridesOf } from '../../shape.js';
import { alloc, type Arr } from './elementwise.js';

/** Reduce the given axes (output keeps them as size 1). Accumulates in float64. */
export function reduceKernel(x: KernelInput<Arr>, fn: ReduceFn, axes: readonly number[], out: KernelOutput): Arr {
  const a = x.handle;
  const shape = x.shape;
  const r = alloc(out);
  // Split into [outer kept..., reduced..., ] by iterating output positions and the reduced sub-space.
  const inStr = stridesOf(shape);
  const keptAxes = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const redSizes = axes.map((i) => shape[i]!);
  const redStr = axes.map((i) => inStr[i]!);
  const keptSizes = keptAxes.map((i) => shape[i]!);
  const keptStr = keptAxes.map((i) => inStr[i]!);
  const nRed = redSizes.reduce((p, c) => p * c, 1);
  const nOut = r.length;
  const kIdx = new Array<number>(keptAxes.length).fill(0);
  const rIdx = new Array<number>(axes.length).fill(0);
  const lastR = axes.length - 1;
  // Fast path: reducing trailing contiguous axes.
  const trailing = axes.length > 0 && axes.every((ax, i) => ax === shape.length - axes.length + i);
  for (let o = 0; o < nOut; o++) {
    let base = 0;
    for (let k = 0; k < keptAxes.length; k++) base += kIdx[k]! * keptStr[k]!;
    let acc = fn === 'max' ? -Infinity : fn === 'min' ? Infinity : 0;
    if (trailing || nRed === 0) {
      const end = base + nRed;
      if (fn === 'sum' || fn === 'mean') for (let i = base; i < end; i++) acc += a[i]!;
      else if (fn === 'max') for (let i = base; i < end; i++) { const v = a[i]!; if (v > acc || Number.isNaN(v)) acc = v; }
      else for (let i = base; i < end; i++) { const v = a[i]!; if (v < acc || Number.isNaN(v)) acc = v; }
    } else {
      rIdx.fill(0);
      let off = base;
      for (let n = 0; n < nRed; n++) {
        const v = a[off]!;
        if (fn === 'sum' || fn === 'mean') acc += v;
        else if (fn === 'max') { if (v > acc || Number.isNaN(v)) acc = v; }
        else if (v < acc || Number.isNaN(v)) acc = v;
        let ax = lastR;
        while (ax >= 0) {
          rIdx[ax]!++;
          off += redStr[ax]!;
          if (rIdx[ax]! < redSizes[ax]!) break;
          off -= redStr[ax]! * redSizes[ax]!;
          rIdx[ax] = 0;
          ax--;
        }
      }
    }
    r[o] = fn === 'mean' ? acc / nRed : acc;
    for (let k = keptAxes.length - 1; k >= 0; k--) {
      kIdx[k]!++;
      if (kIdx[k]! < keptSizes[k]!) break;
      kIdx[k] = 0;
    }
  }
  return r;
}

export function cumsumKernel(x: KernelInput<Arr>, axis: number, exclusive: boolean, reverse: boolean, out: KernelOutput): Arr {
  const a = x.handle;
  const r = alloc(out);
  const n = x.shape[axis]!;
  const inner = x.shape.slice(axis + 1).reduce((p, c) => p * c, 1);
  const outer = x.shape.slice(0, axis).reduce((p, c) => p * c, 1);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * n * inner + i;
      let acc = 0;
      for (let s = 0; s < n; s++) {
        const k = reverse ? n - 1 - s : s;
        const p = base + k * inner;
        if (exclusive) { r[p] = acc; acc += a[p]!; }
        else { acc += a[p]!; r[p] = acc; }
      }
    }
  }
  return r;
}

export function softmaxRows(a: Float32Array, r: Float32Array, rows: number, n: number): void {
  for (let row = 0; row < rows; row++) {
    const o = row * n;
    let m = -Infinity;
    for (let i = 0; i < n; i++) if (a[o + i]! > m) m = a[o + i]!;
    if (m === -Infinity) {
      // A fully masked row: PyTorch gives NaN; we follow it.
      for (let i = 0; i < n; i++) r[o + i] = NaN;
      continue;
    }
    let s = 0;
    for (let i = 0; i < n; i++) { const e = Math.exp(a[o + i]! - m); r[o + i] = e; s += e; }
    const inv = 1 / s;
    for (let i = 0; i < n; i++) r[o + i]! *= inv;
  }
}
