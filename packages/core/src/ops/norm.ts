import { runOp } from '../engine.js';
import { DTypeError, ShapeError } from '../errors.js';
import { fmtShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { add, div, maximum, sqrt } from './elementwise.js';
import { mul } from './elementwise.js';
import { sum } from './reduce.js';

const f32 = (x: Tensor, op: string): void => {
  if (x.dtype !== 'float32') throw new DTypeError(`${op} needs float32, got ${x.dtype}`);
};

/** GroupNorm over [N, C, ...] with per-channel affine weight/bias. */
export function groupNorm(x: Tensor, groups: number, weight: Tensor | null, bias: Tensor | null, eps = 1e-5): Tensor {
  f32(x, 'groupNorm');
  const c = x.shape[1]!;
  if (x.rank < 2 || c % groups !== 0) throw new ShapeError(`groupNorm: ${c} channels of ${fmtShape(x.shape)} are not divisible into ${groups} groups`);
  return runOp('groupNorm', [x, weight, bias], { groups, eps }, x.shape, 'float32');
}

/** LayerNorm over the last axis. */
export function layerNorm(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps = 1e-5): Tensor {
  f32(x, 'layerNorm');
  return runOp('layerNorm', [x, weight, bias], { eps }, x.shape, 'float32');
}

/** RMSNorm over the last axis; `unitOffset` scales by (1 + w) (Qwen3.5's zero-centred weights). */
export function rmsNorm(x: Tensor, weight: Tensor | null, eps = 1e-6, unitOffset = false): Tensor {
  f32(x, 'rmsNorm');
  return runOp('rmsNorm', [x, weight], { eps, unitOffset }, x.shape, 'float32');
}

/** x / max(||x||_2, eps) over an axis... computed as x * rsqrt(sum(x^2) + eps) like the reference l2norm. */
export function l2Normalize(x: Tensor, axis = -1, eps = 1e-6): Tensor {
  const sq = mul(x, x);
  const s = sum(sq, axis, true);
  const se = add(s, eps);
  const n = sqrt(se);
  const out = div(x, n);
  for (const t of [sq, s, se, n]) t.dispose();
  return out;
}

/** x / max(||x||, eps) (PyTorch F.normalize). */
export function normalize(x: Tensor, axis = -1, eps = 1e-12): Tensor {
  const sq = mul(x, x);
  const s = sum(sq, axis, true);
  const n = sqrt(s);
  const m = maximum(n, eps);
  const out = div(x, m);
  for (const t of [sq, s, n, m]) t.dispose();
  return out;
}
