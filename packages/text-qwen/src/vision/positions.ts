/**
 * Host-side tables of the vision tower, computed from the image grids the way transformers' vision_utils does:
 * each patch's (row, col) in spatial-merge-block order, the bilinear (align_corners) taps into the learned
 * square position grid, the 2-D axial rotary tables, and the per-frame attention segments.
 */
import * as C from '@sdxs/core';
import type { RopeTables } from '../model/rope.js';

/** [t, h, w] of one image (h, w in patches). */
export type GridThw = readonly [number, number, number];

const f = Math.fround;

/** Checks the grids against the merge size; returns the total patch count. */
export function checkGrids(grids: readonly GridThw[], merge: number): number {
  if (grids.length === 0) throw new C.InputError('imageGridThw needs at least one [t, h, w] row');
  let total = 0;
  for (const [i, g] of grids.entries()) {
    if (!Array.isArray(g) || g.length !== 3 || !g.every((v) => Number.isSafeInteger(v) && v > 0)) {
      throw new C.InputError(`imageGridThw[${i}] must be three positive integers [t, h, w], got ${JSON.stringify(g)}`);
    }
    if (g[1] % merge !== 0 || g[2] % merge !== 0) throw new C.InputError(`imageGridThw[${i}] = ${JSON.stringify(g)}: h and w must be multiples of the spatial merge size ${merge}`);
    total += g[0] * g[1] * g[2];
  }
  return total;
}

/** (row, col) of every patch of every image, in the processor's spatial-merge-block order (frames repeat). */
export function patchCoordinates(grids: readonly GridThw[], merge: number): { rows: Int32Array; cols: Int32Array } {
  const total = grids.reduce((a, [t, h, w]) => a + t * h * w, 0);
  const rows = new Int32Array(total);
  const cols = new Int32Array(total);
  let n = 0;
  for (const [t, h, w] of grids) {
    for (let frame = 0; frame < t; frame++) {
      for (let br = 0; br < h / merge; br++) {
        for (let bc = 0; bc < w / merge; bc++) {
          for (let ir = 0; ir < merge; ir++) {
            for (let ic = 0; ic < merge; ic++) {
              rows[n] = br * merge + ir;
              cols[n] = bc * merge + ic;
              n++;
            }
          }
        }
      }
    }
  }
  return { rows, cols };
}

/** Bilinear taps (align_corners) of one axis position `index` of `size` into a `side`-long table (float32 math). */
function axisTaps(index: number, size: number, side: number): [number, number, number, number] {
  const src = f(f(index * (side - 1)) / Math.max(size - 1, 1));
  const fl = Math.floor(src);
  const i0 = Math.min(Math.max(fl, 0), side - 1);
  const i1 = Math.min(Math.max(fl + 1, 0), side - 1);
  // distance to each tap (float32, as the reference), linear hat weights
  const frac = f(src - fl);
  const w0 = Math.max(f(1 - Math.abs(frac)), 0);
  const w1 = Math.max(f(1 - Math.abs(f(frac - 1))), 0);
  return [i0, i1, w0, w1];
}

/**
 * Indices [N, 4] into the flattened `side × side` position table and their weights [N, 4]: the bilinear
 * resampling (align_corners=True) of the learned grid to each image's h × w, per patch.
 */
export function positionEmbeddingTaps(grids: readonly GridThw[], side: number, merge: number): { indices: Int32Array; weights: Float32Array } {
  const { rows, cols } = patchCoordinates(grids, merge);
  const indices = new Int32Array(rows.length * 4);
  const weights = new Float32Array(rows.length * 4);
  let n = 0;
  for (const [t, h, w] of grids) {
    for (let k = 0; k < t * h * w; k++, n++) {
      const [h0, h1, hw0, hw1] = axisTaps(rows[n]!, h, side);
      const [w0, w1, ww0, ww1] = axisTaps(cols[n]!, w, side);
      const hs = [h0, h1];
      const hws = [hw0, hw1];
      const ws = [w0, w1];
      const wws = [ww0, ww1];
      for (let a = 0; a < 2; a++) {
        for (let b = 0; b < 2; b++) {
          indices[n * 4 + a * 2 + b] = hs[a]! * side + ws[b]!;
          weights[n * 4 + a * 2 + b] = f(hws[a]! * wws[b]!);
        }
      }
    }
  }
  return { indices, weights };
}

/**
 * The axial 2-D rotary tables of the vision attention: head dim `hd`, frequencies 1/θ^(2j/(hd/2)) for
 * j < hd/4, the first quarter rotated by the row, the second by the column, repeated for the second half.
 */
export function visionRopeTables(grids: readonly GridThw[], merge: number, headDim: number, theta: number): RopeTables {
  const { rows, cols } = patchCoordinates(grids, merge);
  const spatial = headDim / 2;
  const quarter = headDim / 4;
  const invFreq = new Float32Array(quarter);
  for (let j = 0; j < quarter; j++) invFreq[j] = f(1 / f(Math.pow(theta, f((2 * j) / spatial))));
  const n = rows.length;
  const cos = new Float32Array(n * headDim);
  const sin = new Float32Array(n * headDim);
  const half = headDim / 2;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < quarter; j++) {
      for (const [axis, pos] of [[0, rows[i]!], [1, cols[i]!]] as const) {
        const a = f(pos * invFreq[j]!);
        const c = Math.cos(a);
        const s = Math.sin(a);
        const d = axis * quarter + j;
        cos[i * headDim + d] = c;
        cos[i * headDim + half + d] = c;
        sin[i * headDim + d] = -s;
        sin[i * headDim + half + d] = s;
      }
    }
  }
  return { cos: C.tensor(cos, [n, headDim]), sinSigned: C.tensor(sin, [n, headDim]), rotaryDim: headDim };
}

/** Lengths of the attention segments: each frame of each image attends only to itself. */
export function attentionSegments(grids: readonly GridThw[]): number[] {
  const out: number[] = [];
  for (const [t, h, w] of grids) for (let i = 0; i < t; i++) out.push(h * w);
  return out;
}
