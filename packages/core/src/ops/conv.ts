import { runOp } from '../engine.js';
import { DTypeError, ShapeError } from '../errors.js';
import { fmtShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { reshape } from './shape.js';

export interface Conv2dOptions {
  stride?: number | [number, number];
  /** symmetric int, [h, w], or [top, bottom, left, right] */
  padding?: number | [number, number] | [number, number, number, number];
  dilation?: number | [number, number];
  groups?: number;
}

const pair = (v: number | [number, number] | undefined, d: number): [number, number] =>
  v === undefined ? [d, d] : typeof v === 'number' ? [v, v] : v;

/** 2-D convolution, NCHW input, OIHW weight (PyTorch layout). */
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, opts: Conv2dOptions = {}): Tensor {
  if (x.dtype !== 'float32' || weight.dtype !== 'float32') throw new DTypeError(`conv2d needs float32, got ${x.dtype} and ${weight.dtype}`);
  if (x.rank !== 4 || weight.rank !== 4) throw new ShapeError(`conv2d needs NCHW input and OIHW weight, got ${fmtShape(x.shape)} and ${fmtShape(weight.shape)}`);
  const stride = pair(opts.stride, 1);
  const dilation = pair(opts.dilation, 1);
  const p = opts.padding ?? 0;
  const padding: [number, number, number, number] =
    typeof p === 'number' ? [p, p, p, p] : p.length === 2 ? [p[0], p[0], p[1], p[1]] : p;
  const groups = opts.groups ?? 1;
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const [o, cg, kh, kw] = weight.shape as [number, number, number, number];
  if (c !== cg * groups || o % groups !== 0) {
    throw new ShapeError(`conv2d: input ${fmtShape(x.shape)} has ${c} channels but weight ${fmtShape(weight.shape)} with groups=${groups} expects ${cg * groups}`);
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== o)) throw new ShapeError(`conv2d: bias ${fmtShape(bias.shape)} must be [${o}]`);
  const oh = Math.floor((h + padding[0] + padding[1] - dilation[0] * (kh - 1) - 1) / stride[0]) + 1;
  const ow = Math.floor((w + padding[2] + padding[3] - dilation[1] * (kw - 1) - 1) / stride[1]) + 1;
  if (oh <= 0 || ow <= 0) throw new ShapeError(`conv2d: input ${fmtShape(x.shape)} is too small for kernel ${kh}x${kw}`);
  return runOp('conv2d', [x, weight, bias], { stride, padding, dilation, groups }, [n, o, oh, ow], 'float32');
}

/** 1-D convolution on [N, C, L] with weight [O, C/groups, K]. */
export function conv1d(x: Tensor, weight: Tensor, bias: Tensor | null = null, opts: { stride?: number; padding?: number | [number, number]; dilation?: number; groups?: number } = {}): Tensor {
  const x4 = reshape(x, [x.shape[0]!, x.shape[1]!, 1, x.shape[2]!]);
  const w4 = reshape(weight, [weight.shape[0]!, weight.shape[1]!, 1, weight.shape[2]!]);
  const p = opts.padding ?? 0;
  const [pl, pr] = typeof p === 'number' ? [p, p] : p;
  const y = conv2d(x4, w4, bias, { stride: [1, opts.stride ?? 1], padding: [0, 0, pl, pr], dilation: [1, opts.dilation ?? 1], groups: opts.groups ?? 1 });
  x4.dispose();
  w4.dispose();
  const out = reshape(y, [y.shape[0]!, y.shape[1]!, y.shape[3]!]);
  y.dispose();
  return out;
}

/** Causal depthwise conv1d: [N, C, L] with weight [C, 1, K], left padding K-1 (the output at t sees inputs <= t). */
export function causalConv1d(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  const k = weight.shape[weight.rank - 1]!;
  return conv1d(x, weight, bias, { padding: [k - 1, 0], groups: x.shape[1]! });
}

/** Nearest-neighbour resize of NCHW (or any [..., H, W]) to an explicit size or by a scale factor. */
export function upsampleNearest2d(x: Tensor, sizeOrScale: [number, number] | number = 2): Tensor {
  const h = x.shape[x.rank - 2]!;
  const w = x.shape[x.rank - 1]!;
  const size: [number, number] = typeof sizeOrScale === 'number' ? [Math.floor(h * sizeOrScale), Math.floor(w * sizeOrScale)] : sizeOrScale;
  if (x.dtype !== 'float32') throw new DTypeError(`upsampleNearest2d needs float32, got ${x.dtype}`);
  return runOp('upsampleNearest', [x], { size }, [...x.shape.slice(0, -2), size[0], size[1]], 'float32');
}
