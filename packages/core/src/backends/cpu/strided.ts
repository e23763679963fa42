import type { Shape } from '../../shape.js';
import { stridesOf } from '../../shape.js';

/** Strides of `shape` aligned to an output shape, 0 on broadcast axes. */
export function broadcastStrides(shape: Shape, out: Shape): number[] {
  const s = stridesOf(shape);
  const lead = out.length - shape.length;
  return out.map((d, i) => (i < lead || shape[i - lead] === 1 ? 0 : s[i - lead]!));
}

/** Merge adjacent axes that are contiguous for every operand, so the inner loop is as long as possible. */
export function coalesce(out: Shape, strides: number[][]): { shape: number[]; strides: number[][] } {
  const shape: number[] = [];
  const st: number[][] = strides.map(() => []);
  for (let i = 0; i < out.length; i++) {
    const d = out[i]!;
    if (d === 1) continue;
    const k = shape.length - 1;
    if (k >= 0 && strides.every((s, j) => st[j]![k] === s[i]! * d)) {
      shape[k]! *= d;
      strides.forEach((s, j) => (st[j]![k] = s[i]!));
    } else {
      shape.push(d);
      strides.forEach((s, j) => st[j]!.push(s[i]!));
    }
  }
  if (shape.length === 0) {
    shape.push(1);
    st.forEach((s) => s.push(0));
  }
  return { shape, strides: st };
}

/**
 * Iterate all rows (every axis but the last) of an output; calls row(outOffset, inOffsets) for each,
 * where the row has length shape[last] and input j advances by strides[j][last].
 */
export function forEachRow(shape: readonly number[], strides: readonly (readonly number[])[], row: (o: number, offs: readonly number[]) => void): void {
  const rank = shape.length;
  const n = strides.length;
  const offs = new Array<number>(n).fill(0);
  const idx = new Array<number>(rank).fill(0);
  const last = shape[rank - 1]!;
  if (shape.some((d) => d === 0)) return;
  let o = 0;
  for (;;) {
    row(o, offs);
    o += last;
    let ax = rank - 2;
    while (ax >= 0) {
      idx[ax]!++;
      for (let j = 0; j < n; j++) offs[j]! += strides[j]![ax]!;
      if (idx[ax]! < shape[ax]!) break;
      for (let j = 0; j < n; j++) offs[j]! -= strides[j]![ax]! * shape[ax]!;
      idx[ax] = 0;
      ax--;
    }
    if (ax < 0) return;
  }
}
