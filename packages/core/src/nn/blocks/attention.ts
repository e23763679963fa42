import { tidy } from '../../engine.js';
import { add, div } from '../../ops/elementwise.js';
import { scaledDotProductAttention } from '../../ops/attention.js';
import { reshape, transpose } from '../../ops/shape.js';
import type { Tensor } from '../../tensor.js';
import { GroupNorm, Linear } from '../layers.js';
import { Module, ModuleList } from '../module.js';

export interface AttentionOptions {
  queryDim: number;
  crossAttentionDim?: number;
  heads?: number;
  dimHead?: number;
  /** bias of to_q / to_k / to_v */
  bias?: boolean;
  outBias?: boolean;
  /** GroupNorm before attention (the VAE's mid-block attention) */
  normNumGroups?: number;
  eps?: number;
  residualConnection?: boolean;
  rescaleOutputFactor?: number;
}

/**
 * diffusers Attention with the default processor: names group_norm, to_q, to_k, to_v, to_out.0
 * (to_out.1 is the parameterless dropout slot). Accepts [B, S, C] or NCHW input.
 */
export class Attention extends Module {
  readonly group_norm: GroupNorm | undefined;
  readonly to_q: Linear;
  readonly to_k: Linear;
  readonly to_v: Linear;
  readonly to_out: ModuleList<Linear>;
  readonly heads: number;
  readonly residualConnection: boolean;
  readonly rescaleOutputFactor: number;

  constructor(o: AttentionOptions) {
    super();
    const dimHead = o.dimHead ?? 64;
    this.heads = o.heads ?? 8;
    const inner = dimHead * this.heads;
    const cross = o.crossAttentionDim ?? o.queryDim;
    const bias = o.bias ?? false;
    this.group_norm = o.normNumGroups ? new GroupNorm(o.normNumGroups, o.queryDim, o.eps ?? 1e-5) : undefined;
    this.to_q = new Linear(o.queryDim, inner, bias);
    this.to_k = new Linear(cross, inner, bias);
    this.to_v = new Linear(cross, inner, bias);
    this.to_out = new ModuleList<Linear>([new Linear(inner, o.queryDim, o.outBias ?? true), null]);
    this.residualConnection = o.residualConnection ?? false;
    this.rescaleOutputFactor = o.rescaleOutputFactor ?? 1;
  }

  /**
   * @param x [B, S, C] or [B, C, H, W]
   * @param context [B, Sk, Ck] for cross-attention (defaults to x)
   * @param mask additive bias broadcastable to [B, heads, S, Sk] (e.g. [B, 1, 1, Sk])
   */
  forward(x: Tensor, context: Tensor | null = null, mask: Tensor | null = null): Tensor {
    return tidy(() => {
      const spatial = x.rank === 4;
      const [b, c, hgt, wid] = x.shape as [number, number, number, number];
      let h = spatial ? transpose(reshape(x, [b, c, hgt * wid]), [0, 2, 1]) : x;
      if (this.group_norm) h = transpose(this.group_norm.forward(transpose(h, [0, 2, 1])), [0, 2, 1]);
      const ctx = context ?? h;
      const heads = (t: Tensor): Tensor => transpose(reshape(t, [t.shape[0]!, t.shape[1]!, this.heads, -1]), [0, 2, 1, 3]);
      const q = heads(this.to_q.forward(h));
      const k = heads(this.to_k.forward(ctx));
      const v = heads(this.to_v.forward(ctx));
      const o = scaledDotProductAttention(q, k, v, { mask });
      const merged = reshape(transpose(o, [0, 2, 1, 3]), [o.shape[0]!, o.shape[2]!, -1]);
      let out = this.to_out.at(0).forward(merged);
      if (spatial) out = reshape(transpose(out, [0, 2, 1]), [b, c, hgt, wid]);
      if (this.residualConnection) out = add(out, x);
      return this.rescaleOutputFactor === 1 ? out : div(out, this.rescaleOutputFactor);
    });
  }
}
