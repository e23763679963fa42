/** Gated DeltaNet token mixer (`linear_attn` of a `linear_attention` layer). */
import * as C from '@sdxs/core';
import type { Qwen35TextConfig } from '../config.js';
import { recurrentDeltaRule } from './delta-rule.js';
import { chunkedDeltaRule } from './delta-rule-chunked.js';

/** Conv + recurrent state of one DeltaNet layer during generation. */
export interface LinearAttentionState {
  /** the last K pre-conv qkv columns [B, conv_dim, K] */
  conv: C.Tensor;
  /** S after the last token [B, Hv, dk, dv] */
  recurrent: C.Tensor;
}

/** Depthwise causal conv weight holder: `conv1d.weight` [conv_dim, 1, K], no bias. */
export class DepthwiseConv1d extends C.Module {
  readonly weight: C.Parameter;
  constructor(channels: number, kernel: number) {
    super();
    this.weight = new C.Parameter([channels, 1, kernel]);
  }
}

/** Qwen3_5RMSNormGated: plain weight (not zero-centred), gate silu(z), per value head over dv. */
export class RMSNormGated extends C.Module {
  readonly weight: C.Parameter;
  constructor(dim: number, readonly eps: number) {
    super();
    this.weight = new C.Parameter([dim]);
  }
  forward(x: C.Tensor, z: C.Tensor): C.Tensor {
    return C.tidy(() => C.mul(C.rmsNorm(x, this.weight.use(), this.eps, false), C.silu(z)));
  }
}

export type DeltaRuleMode = 'auto' | 'recurrent' | 'chunked';

export class GatedDeltaNet extends C.Module {
  readonly in_proj_qkv: C.nn.Linear;
  readonly in_proj_z: C.nn.Linear;
  readonly in_proj_b: C.nn.Linear;
  readonly in_proj_a: C.nn.Linear;
  readonly conv1d: DepthwiseConv1d;
  readonly dt_bias: C.Parameter;
  readonly A_log: C.Parameter;
  readonly norm: RMSNormGated;
  readonly out_proj: C.nn.Linear;

  private readonly hk: number;
  private readonly hv: number;
  private readonly dk: number;
  private readonly dv: number;
  private readonly kernel: number;
  private readonly convDim: number;

  constructor(cfg: Qwen35TextConfig) {
    super();
    const d = cfg.hiddenSize;
    this.hk = cfg.linearNumKeyHeads;
    this.hv = cfg.linearNumValueHeads;
    this.dk = cfg.linearKeyHeadDim;
    this.dv = cfg.linearValueHeadDim;
    this.kernel = cfg.linearConvKernelDim;
    this.convDim = 2 * this.hk * this.dk + this.hv * this.dv;
    this.in_proj_qkv = new C.nn.Linear(d, this.convDim, false);
    this.in_proj_z = new C.nn.Linear(d, this.hv * this.dv, false);
    this.in_proj_b = new C.nn.Linear(d, this.hv, false);
    this.in_proj_a = new C.nn.Linear(d, this.hv, false);
    this.conv1d = new DepthwiseConv1d(this.convDim, this.kernel);
    this.dt_bias = new C.Parameter([this.hv]);
    this.A_log = new C.Parameter([this.hv]);
    this.norm = new RMSNormGated(this.dv, cfg.rmsNormEps);
    this.out_proj = new C.nn.Linear(this.hv * this.dv, d, false);
  }

  /**
   * x [B, S, D] → [B, S, D]. `mask` (float [B, S], or null) zeroes padded positions first. With `state`
   * (generation) the conv continues from the cached columns and the recurrence from the cached S; the new
   * state is returned. `state === undefined` means no cache at all (plain encoding).
   */
  forward(x: C.Tensor, mask: C.Tensor | null, state?: LinearAttentionState | null, mode: DeltaRuleMode = 'auto'): { out: C.Tensor; state: LinearAttentionState | null } {
    const [b, s] = x.shape as [number, number, number];
    const { hk, hv, dk, dv, kernel, convDim } = this;
    if (mask) x = C.mul(x, C.reshape(mask, [b, s, 1]));
    const qkv = this.in_proj_qkv.forward(x);
    const z = C.reshape(this.in_proj_z.forward(x), [b, s, hv, dv]);
    const bProj = this.in_proj_b.forward(x);
    const aProj = this.in_proj_a.forward(x);

    // Between the projections everything runs in float32 in float16 graphs, as the reference runs its delta
    // rule in float32 under any dtype: the short conv, the decays (summed over the sequence, then
    // exponentiated), the recurrence and the gated norm. The projections, where the time goes, stay float16.
    let convState: C.Tensor | null = null;
    const { o, res } = C.fullPrecision(() => {
      const qkvT = C.transpose(qkv, [0, 2, 1]);
      const w = this.conv1d.weight.use();
      let conv: C.Tensor;
      if (state === undefined) {
        conv = C.causalConv1d(qkvT, w);
      } else {
        const prev = state?.conv ?? C.zeros([b, convDim, kernel]);
        const full = C.concat([prev, qkvT], 2);
        conv = C.conv1d(C.sliceAxis(full, 2, 1, kernel + s), w, null, { groups: convDim });
        convState = C.sliceAxis(full, 2, s, s + kernel);
      }
      // Channels-first [B, C, S]: q | k | v are contiguous channel ranges, and [B, H, d, S] → [B, H, S, d] is head-major.
      const mixed = C.silu(conv);
      const keyDim = hk * dk;
      const heads = (from: number, to: number, n: number, d: number): C.Tensor => C.transpose(C.reshape(C.sliceAxis(mixed, 1, from, to), [b, n, d, s]), [0, 1, 3, 2]);
      let q = heads(0, keyDim, hk, dk);
      let k = heads(keyDim, 2 * keyDim, hk, dk);
      const v = heads(2 * keyDim, convDim, hv, dv);

      const beta = C.sigmoid(bProj);
      const g = C.mul(C.neg(C.exp(this.A_log.use())), C.softplus(C.add(aProj, this.dt_bias.use())));
      q = C.mul(C.l2Normalize(q, -1, 1e-6), 1 / Math.sqrt(dk));
      k = C.l2Normalize(k, -1, 1e-6);
      if (hv !== hk) {
        // value head h uses key head h // (hv / hk)
        const r = hv / hk;
        q = C.reshape(C.repeatAxes(C.reshape(q, [b, hk, 1, s * dk]), [1, 1, r, 1]), [b, hv, s, dk]);
        k = C.reshape(C.repeatAxes(C.reshape(k, [b, hk, 1, s * dk]), [1, 1, r, 1]), [b, hv, s, dk]);
      }
      const gH = C.transpose(g, [0, 2, 1]);
      const betaH = C.transpose(beta, [0, 2, 1]);
      const initial = state?.recurrent ?? null;
      const useChunked = mode === 'chunked' || (mode === 'auto' && s > 1);
      const rule = useChunked ? chunkedDeltaRule : recurrentDeltaRule;
      const res = rule(q, k, v, gH, betaH, initial);
      const o = this.norm.forward(C.transpose(res.out, [0, 2, 1, 3]), z);
      return { o, res };
    });
    const out = this.out_proj.forward(C.reshape(o, [b, s, hv * dv]));
    return { out, state: convState ? { conv: convState, recurrent: res.state } : null };
  }
}
