import { runOp } from '../engine.js';
import { DTypeError, ShapeError } from '../errors.js';
import { fmtShape } from '../shape.js';
import type { Tensor } from '../tensor.js';

export interface AttentionOptions {
  /** additive mask broadcastable to [B, H, Sq, Sk] */
  mask?: Tensor | null;
  /** default 1/sqrt(head_dim) */
  scale?: number;
  causal?: boolean;
}

/** softmax(q kᵀ * scale + mask) v over [B, H, S, D] tensors. */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  for (const t of [q, k, v]) if (t.dtype !== 'float32') throw new DTypeError(`attention needs float32, got ${t.dtype}`);
  if (q.rank !== 4 || k.rank !== 4 || v.rank !== 4) throw new ShapeError(`attention needs [B, H, S, D] tensors, got ${fmtShape(q.shape)}, ${fmtShape(k.shape)}, ${fmtShape(v.shape)}`);
  const [b, h, sq, d] = q.shape as [number, number, number, number];
  if (k.shape[0] !== b || k.shape[1] !== h || k.shape[3] !== d || v.shape[0] !== b || v.shape[1] !== h || v.shape[2] !== k.shape[2]) {
    throw new ShapeError(`attention: q ${fmtShape(q.shape)}, k ${fmtShape(k.shape)}, v ${fmtShape(v.shape)} do not agree`);
  }
  const mask = opts.mask ?? null;
  if (mask && mask.rank > 4) throw new ShapeError(`attention mask ${fmtShape(mask.shape)} has rank > 4`);
  return runOp('attention', [q, k, v, mask], { scale: opts.scale ?? 1 / Math.sqrt(d), causal: opts.causal ?? false }, [b, h, sq, v.shape[3]!], 'float32');
}
