/**
 * diffusers Transformer2DModel (continuous input) with BasicTransformerBlock (layer_norm, self-attention,
 * cross-attention, GEGLU feed-forward). Field names are the checkpoint keys.
 */
import * as C from '@sdxs/core';

/** GEGLU: proj → split into (h, gate) on the last axis → h * gelu_exact(gate). */
export class GEGLU extends C.Module {
  readonly proj: C.nn.Linear;
  constructor(dimIn: number, dimOut: number) {
    super();
    this.proj = new C.nn.Linear(dimIn, dimOut * 2);
  }
  forward(x: C.Tensor): C.Tensor {
    return C.tidy(() => {
      const [h, gate] = C.split(this.proj.forward(x), 2, -1) as [C.Tensor, C.Tensor];
      return C.mul(h, C.gelu(gate));
    });
  }
}

/** FeedForward with activation 'geglu': net.0 = GEGLU, net.1 = dropout (no weights), net.2 = Linear. */
export class FeedForward extends C.Module {
  readonly net: C.ModuleList;
  constructor(dim: number, mult = 4) {
    super();
    const inner = dim * mult;
    this.net = new C.ModuleList([new GEGLU(dim, inner), null, new C.nn.Linear(inner, dim)]);
  }
  forward(x: C.Tensor): C.Tensor {
    return C.tidy(() => (this.net.at(2) as C.nn.Linear).forward((this.net.at(0) as GEGLU).forward(x)));
  }
}

/** BasicTransformerBlock (norm_type 'layer_norm', attention_bias false, only_cross_attention false). */
export class BasicTransformerBlock extends C.Module {
  readonly norm1: C.nn.LayerNorm;
  readonly attn1: C.blocks.Attention;
  readonly norm2: C.nn.LayerNorm;
  readonly attn2: C.blocks.Attention;
  readonly norm3: C.nn.LayerNorm;
  readonly ff: FeedForward;

  constructor(dim: number, heads: number, crossAttentionDim: number) {
    super();
    const dimHead = dim / heads;
    this.norm1 = new C.nn.LayerNorm(dim, 1e-5);
    this.attn1 = new C.blocks.Attention({ queryDim: dim, heads, dimHead, bias: false, outBias: true });
    this.norm2 = new C.nn.LayerNorm(dim, 1e-5);
    this.attn2 = new C.blocks.Attention({ queryDim: dim, crossAttentionDim, heads, dimHead, bias: false, outBias: true });
    this.norm3 = new C.nn.LayerNorm(dim, 1e-5);
    this.ff = new FeedForward(dim);
  }

  /** x [B, S, C]; context [B, Sk, Ck]; contextBias additive [B, 1, 1, Sk] or null */
  forward(x: C.Tensor, context: C.Tensor, contextBias: C.Tensor | null): C.Tensor {
    return C.tidy(() => {
      let h = C.add(this.attn1.forward(this.norm1.forward(x)), x);
      h = C.add(this.attn2.forward(this.norm2.forward(h), context, contextBias), h);
      return C.add(this.ff.forward(this.norm3.forward(h)), h);
    });
  }
}

export interface Transformer2DOptions {
  channels: number;
  heads: number;
  layers: number;
  crossAttentionDim: number;
  groups: number;
  useLinearProjection: boolean;
}

/** Transformer2DModel: GroupNorm(eps 1e-6) → proj_in (1x1 conv or linear) → blocks → proj_out → + input. */
export class Transformer2DModel extends C.Module {
  readonly norm: C.nn.GroupNorm;
  readonly proj_in: C.nn.Linear | C.nn.Conv2d;
  readonly transformer_blocks: C.ModuleList<BasicTransformerBlock>;
  readonly proj_out: C.nn.Linear | C.nn.Conv2d;
  readonly linear: boolean;

  constructor(o: Transformer2DOptions) {
    super();
    const c = o.channels;
    this.linear = o.useLinearProjection;
    this.norm = new C.nn.GroupNorm(o.groups, c, 1e-6);
    this.proj_in = this.linear ? new C.nn.Linear(c, c) : new C.nn.Conv2d(c, c, 1);
    this.transformer_blocks = new C.ModuleList(Array.from({ length: o.layers }, () => new BasicTransformerBlock(c, o.heads, o.crossAttentionDim)));
    this.proj_out = this.linear ? new C.nn.Linear(c, c) : new C.nn.Conv2d(c, c, 1);
  }

  /** x NCHW; context [B, Sk, Ck]; contextBias additive [B, 1, 1, Sk] or null */
  forward(x: C.Tensor, context: C.Tensor, contextBias: C.Tensor | null): C.Tensor {
    return C.tidy(() => {
      const [b, c, hh, ww] = x.shape as [number, number, number, number];
      const toSeq = (t: C.Tensor): C.Tensor => C.transpose(C.reshape(t, [b, c, hh * ww]), [0, 2, 1]);
      const toImage = (t: C.Tensor): C.Tensor => C.reshape(C.transpose(t, [0, 2, 1]), [b, c, hh, ww]);
      const n = this.norm.forward(x);
      let h = this.linear ? this.proj_in.forward(toSeq(n)) : toSeq(this.proj_in.forward(n));
      for (const block of this.transformer_blocks) h = block.forward(h, context, contextBias);
      const out = this.linear ? toImage(this.proj_out.forward(h)) : this.proj_out.forward(toImage(h));
      return C.add(out, x);
    });
  }
}
