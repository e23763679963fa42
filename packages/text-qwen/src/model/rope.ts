/**
 * Partial rotary embedding of Qwen3.5 (M-RoPE reduces to plain RoPE for text: the three position rows are equal).
 * Only the first `rotaryDim` dims of each head rotate, with the rotate_half (NeoX) convention.
 */
import * as C from '@sdxs/core';

export interface RopeTables {
  /** cos(cat(freqs, freqs)) [S, rot] */
  cos: C.Tensor;
  /** sin(cat(freqs, freqs)) with the first half negated [S, rot], so rotate_half(u)*sin = cat(u2, u1)*sinSigned */
  sinSigned: C.Tensor;
  rotaryDim: number;
}

/** cos/sin tables for positions start..start+length-1, computed in float32 as the reference does. */
export function ropeTables(start: number, length: number, rotaryDim: number, theta: number): RopeTables {
  const half = rotaryDim / 2;
  const f = Math.fround;
  const invFreq = new Float32Array(half);
  for (let j = 0; j < half; j++) invFreq[j] = f(1 / f(Math.pow(theta, f((2 * j) / rotaryDim))));
  const cos = new Float32Array(length * rotaryDim);
  const sin = new Float32Array(length * rotaryDim);
  for (let s = 0; s < length; s++) {
    const pos = start + s;
    for (let j = 0; j < half; j++) {
      const a = f(pos * invFreq[j]!);
      const c = Math.cos(a);
      const si = Math.sin(a);
      cos[s * rotaryDim + j] = c;
      cos[s * rotaryDim + half + j] = c;
      sin[s * rotaryDim + j] = -si;
      sin[s * rotaryDim + half + j] = si;
    }
  }
  return {
    cos: C.tensor(cos, [length, rotaryDim]),
    sinSigned: C.tensor(sin, [length, rotaryDim]),
    rotaryDim,
  };
}

/** Rotate the first `rot` dims of x [B, H, S, hd]; the rest pass through. */
export function applyRope(x: C.Tensor, t: RopeTables): C.Tensor {
  const hd = x.shape[3]!;
  const rot = t.rotaryDim;
  const half = rot / 2;
  const xr = rot === hd ? x : C.sliceAxis(x, 3, 0, rot);
  const u1 = C.sliceAxis(xr, 3, 0, half);
  const u2 = C.sliceAxis(xr, 3, half, rot);
  const swapped = C.concat([u2, u1], 3);
  const rotated = C.add(C.mul(xr, t.cos), C.mul(swapped, t.sinSigned));
  return rot === hd ? rotated : C.concat([rotated, C.sliceAxis(x, 3, rot, hd)], 3);
}

/** 3-D rope positions (temporal, height, width rows) of B rows of S tokens: `data[(axis * B + b) * S + s]`. */
export interface MultimodalPositions {
  data: Int32Array;
  batch: number;
  length: number;
}

/**
 * cos/sin tables [B, 1, S, rot] of Qwen3.5's interleaved multimodal rope: frequency j takes the height row
 * when j % 3 == 1 and j < 3·section[1], the width row when j % 3 == 2 and j < 3·section[2], else the temporal row.
 */
export function mropeTables(p: MultimodalPositions, batch: number, length: number, rotaryDim: number, theta: number, section: readonly [number, number, number]): RopeTables {
  if (p.batch !== batch || p.length !== length || p.data.length !== 3 * batch * length) {
    throw new C.ShapeError(`positionIds cover [3, ${p.batch}, ${p.length}] but the input is [${batch}, ${length}]`);
  }
  const half = rotaryDim / 2;
  const f = Math.fround;
  const invFreq = new Float32Array(half);
  const axisOf = new Int32Array(half);
  for (let j = 0; j < half; j++) {
    invFreq[j] = f(1 / f(Math.pow(theta, f((2 * j) / rotaryDim))));
    axisOf[j] = j % 3 === 1 && j < 3 * section[1] ? 1 : j % 3 === 2 && j < 3 * section[2] ? 2 : 0;
  }
  const cos = new Float32Array(batch * length * rotaryDim);
  const sin = new Float32Array(batch * length * rotaryDim);
  for (let b = 0; b < batch; b++) {
    for (let s = 0; s < length; s++) {
      const row = (b * length + s) * rotaryDim;
      for (let j = 0; j < half; j++) {
        const pos = p.data[(axisOf[j]! * batch + b) * length + s]!;
        const a = f(pos * invFreq[j]!);
        const c = Math.cos(a);
        const si = Math.sin(a);
        cos[row + j] = c;
        cos[row + half + j] = c;
        sin[row + j] = -si;
        sin[row + half + j] = si;
      }
    }
  }
  return { cos: C.tensor(cos, [batch, 1, length, rotaryDim]), sinSigned: C.tensor(sin, [batch, 1, length, rotaryDim]), rotaryDim };
}
