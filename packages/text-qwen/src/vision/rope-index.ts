/**
 * The 3-D multimodal rope positions of transformers' `Qwen3_5Model.get_rope_index`: text runs count up on all
 * three rows; an image run (consecutive image placeholders) takes (t, row, col) of its merged grid offset by the
 * position reached so far, which then advances by max(h, w) / merge. Padded positions (mask 0) are 0 and are
 * skipped when counting.
 */
import * as C from '@sdxs/core';
import type { MultimodalPositions } from '../model/rope.js';
import type { GridThw } from './positions.js';

export interface RopeIndex extends MultimodalPositions {
  /** Per row: max position + 1 − real length, the offset of later decoding positions. */
  deltas: number[];
}

export function multimodalRopeIndex(
  ids: readonly (readonly number[])[],
  grids: readonly GridThw[],
  imageTokenId: number,
  merge: number,
  mask?: readonly (readonly number[])[] | null,
): RopeIndex {
  const batch = ids.length;
  const length = ids[0]?.length ?? 0;
  if (ids.some((r) => r.length !== length)) throw new C.InputError('inputIds rows must all have the same length');
  if (mask && (mask.length !== batch || mask.some((r) => r.length !== length))) throw new C.InputError(`attentionMask must have ${batch} rows of ${length} entries`);
  const data = new Int32Array(3 * batch * length);
  const deltas: number[] = [];
  let nextGrid = 0;
  for (let b = 0; b < batch; b++) {
    const where: number[] = [];
    for (let s = 0; s < length; s++) if (!mask || mask[b]![s] !== 0) where.push(s);
    const put = (k: number, t: number, h: number, w: number): void => {
      const s = where[k]!;
      data[(0 * batch + b) * length + s] = t;
      data[(1 * batch + b) * length + s] = h;
      data[(2 * batch + b) * length + s] = w;
    };
    let pos = 0;
    let maxPos = -1;
    let k = 0;
    while (k < where.length) {
      const isImage = ids[b]![where[k]!] === imageTokenId;
      let end = k;
      while (end < where.length && (ids[b]![where[end]!] === imageTokenId) === isImage) end++;
      if (!isImage) {
        for (let i = k; i < end; i++) put(i, pos + i - k, pos + i - k, pos + i - k);
        maxPos = Math.max(maxPos, pos + end - k - 1);
        pos += end - k;
      } else {
        const grid = grids[nextGrid++];
        if (!grid) throw new C.InputError(`inputIds hold more image placeholder runs than imageGridThw has images (${grids.length})`);
        const [t, gh, gw] = [grid[0], grid[1] / merge, grid[2] / merge];
        if (t * gh * gw !== end - k) throw new C.InputError(`an image run of ${end - k} placeholder tokens does not match its grid ${JSON.stringify(grid)} (${t * gh * gw} merged tokens)`);
        let i = k;
        for (let ti = 0; ti < t; ti++) {
          for (let hi = 0; hi < gh; hi++) {
            for (let wi = 0; wi < gw; wi++) {
              put(i++, ti + pos, hi + pos, wi + pos);
              maxPos = Math.max(maxPos, ti + pos, hi + pos, wi + pos);
            }
          }
        }
        pos += Math.floor(Math.max(grid[1], grid[2]) / merge);
      }
      k = end;
    }
    deltas.push(maxPos + 1 - where.length);
  }
  if (nextGrid !== grids.length) throw new C.InputError(`imageGridThw has ${grids.length} images but inputIds hold ${nextGrid} image placeholder runs`);
  return { data, batch, length, deltas };
}

/** Positions of a decoding step after a multimodal prefill: past + delta + i on all three rows. */
export function decodingPositions(past: number, length: number, delta: number): MultimodalPositions {
  const data = new Int32Array(3 * length);
  for (let a = 0; a < 3; a++) for (let i = 0; i < length; i++) data[a * length + i] = past + delta + i;
  return { data, batch: 1, length };
}
