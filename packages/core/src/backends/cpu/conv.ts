import type { KernelInput, KernelOutput, OpAttrs } from '../../backend.js';
import { gemmNN } from './matmul.js';

/** Output pixels per im2col block: the column buffer is K × this many floats (e.g. 1152 × 16 Ki = 72 MiB). */
const COL_PIXELS = 16384;

/**
 * conv2d by im2col + GEMM per (batch, group), in blocks of output rows so the column buffer stays small
 * (a whole 3x3 conv of 128 channels at 1024² would need 4.5 GiB of columns). 1x1 stride-1 unpadded convs
 * skip im2col.
 */
export function conv2dKernel(
  x: KernelInput<Float32Array>,
  w: KernelInput<Float32Array>,
  bias: KernelInput<Float32Array> | null,
  attrs: OpAttrs['conv2d'],
  out: KernelOutput,
): Float32Array {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [O, Cg, KH, KW] = w.shape as [number, number, number, number];
  const [, , OH, OW] = out.shape as [number, number, number, number];
  const { stride, padding, dilation, groups } = attrs;
  const [sh, sw] = stride;
  const [pt, , pl] = padding;
  const [dh, dw] = dilation;
  const Og = O / groups;
  const K = Cg * KH * KW;
  const P = OH * OW;
  const X = x.handle;
  const Wt = w.handle;
  const Y = new Float32Array(N * O * P);
  const direct = KH === 1 && KW === 1 && sh === 1 && sw === 1 && padding.every((p) => p === 0);
  const rowsPerBlock = Math.max(1, Math.min(OH, Math.floor(COL_PIXELS / Math.max(1, OW))));
  const blockP = rowsPerBlock * OW;
  const col = direct ? null : new Float32Array(K * blockP);
  // GEMM output of one block when it does not cover whole Y rows ([Og, bp], copied into Y)
  const yBlock = direct || rowsPerBlock === OH ? null : new Float32Array(Og * blockP);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < groups; g++) {
      const xOff = (n * C + g * Cg) * H * W;
      const yOff = (n * O + g * Og) * P;
      if (bias) for (let o = 0; o < Og; o++) Y.fill(bias.handle[g * Og + o]!, yOff + o * P, yOff + (o + 1) * P);
      if (!col) {
        gemmNN(Wt, g * Og * K, X, xOff, Y, yOff, Og, K, P);
        continue;
      }
      for (let oh0 = 0; oh0 < OH; oh0 += rowsPerBlock) {
        const rows = Math.min(rowsPerBlock, OH - oh0);
        const bp = rows * OW;
        let r = 0;
        for (let c = 0; c < Cg; c++) {
          const cOff = xOff + c * H * W;
          for (let kh = 0; kh < KH; kh++) {
            for (let kw = 0; kw < KW; kw++, r++) {
              const rowOff = r * bp;
              for (let i = 0; i < rows; i++) {
                const ih = (oh0 + i) * sh - pt + kh * dh;
                const o = rowOff + i * OW;
                if (ih < 0 || ih >= H) {
                  col.fill(0, o, o + OW);
                  continue;
                }
                const hOff = cOff + ih * W;
                for (let ow = 0; ow < OW; ow++) {
                  const iw = ow * sw - pl + kw * dw;
                  col[o + ow] = iw >= 0 && iw < W ? X[hOff + iw]! : 0;
                }
              }
            }
          }
        }
        if (!yBlock) {
          gemmNN(Wt, g * Og * K, col, 0, Y, yOff, Og, K, bp);
          continue;
        }
        for (let o = 0; o < Og; o++) yBlock.fill(bias ? bias.handle[g * Og + o]! : 0, o * bp, (o + 1) * bp);
        gemmNN(Wt, g * Og * K, col, 0, yBlock, 0, Og, K, bp);
        for (let o = 0; o < Og; o++) Y.set(yBlock.subarray(o * bp, (o + 1) * bp), yOff + o * P + oh0 * OW);
      }
    }
  }
  void out;
  return Y;
}

export function upsampleNearestKernel(x: KernelInput<Float32Array>, size: [number, number], out: KernelOutput): Float32Array {
  const H = x.shape[x.shape.length - 2]!;
  const W = x.shape[x.shape.length - 1]!;
  const [OH, OW] = size;
  const planes = x.shape.slice(0, -2).reduce((p, c) => p * c, 1);
  const X = x.handle;
  const Y = new Float32Array(planes * OH * OW);
  // PyTorch 'nearest': src = floor(dst * (in / out)), computed in float32
  const sh = Math.fround(H / OH);
  const sw = Math.fround(W / OW);
  const colIdx = new Int32Array(OW);
  for (let j = 0; j < OW; j++) colIdx[j] = Math.min(Math.floor(Math.fround(j * sw)), W - 1);
  for (let p = 0; p < planes; p++) {
    for (let i = 0; i < OH; i++) {
      const si = Math.min(Math.floor(Math.fround(i * sh)), H - 1);
      const src = p * H * W + si * W;
      const dst = p * OH * OW + i * OW;
      for (let j = 0; j < OW; j++) Y[dst + j] = X[src + colIdx[j]!]!;
    }
  }
  void out;
  return Y;
}
