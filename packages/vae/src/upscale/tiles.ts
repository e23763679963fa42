/**
 * Tile layout along one axis and the linear blending weights of overlapping tiles. Weights ramp over
 * each overlap (never at the image border) and are normalised so that they sum to one at every
 * position; a 2D grid's weight is the product of its two axes' weights, which then also sums to one.
 */
import * as C from '@sdxs/core';

export interface Axis {
  /** First index of each tile. */
  starts: number[];
  /** Tile length (every tile has the same length; the last one is aligned to the end). */
  length: number;
}

/**
 * Tiles of `tile` samples with at least `overlap` shared samples covering [0, size). Starts are
 * multiples of `align` when size, tile and overlap are.
 */
export function tileAxis(size: number, tile: number, overlap: number): Axis {
  if (size <= tile) return { starts: [0], length: size };
  const stride = tile - overlap;
  if (stride <= 0) throw new C.InputError(`tile overlap ${overlap} must be smaller than the tile size ${tile}`);
  const starts: number[] = [];
  for (let s = 0; s + tile < size; s += stride) starts.push(s);
  starts.push(size - tile);
  return { starts, length: tile };
}

/** The same layout in another unit (e.g. latent → image pixels: scale 16). */
export function scaleAxis(a: Axis, scale: number): Axis {
  return { starts: a.starts.map((s) => s * scale), length: a.length * scale };
}

/** Per-tile weights of an axis of `size` samples: weights[i][x] for x in [0, length). */
export function blendWeights(a: Axis, size: number): Float32Array[] {
  const { starts, length: t } = a;
  const raw = starts.map((s, i) => {
    const left = i > 0 ? starts[i - 1]! + t - s : 0;
    const right = i < starts.length - 1 ? s + t - starts[i + 1]! : 0;
    const w = new Float32Array(t);
    for (let x = 0; x < t; x++) {
      let v = 1;
      if (left > 0) v = Math.min(v, (x + 0.5) / left);
      if (right > 0) v = Math.min(v, (t - x - 0.5) / right);
      w[x] = v;
    }
    return w;
  });
  const total = new Float32Array(size);
  raw.forEach((w, i) => {
    for (let x = 0; x < t; x++) total[starts[i]! + x]! += w[x]!;
  });
  raw.forEach((w, i) => {
    for (let x = 0; x < t; x++) w[x] = w[x]! / total[starts[i]! + x]!;
  });
  return raw;
}
