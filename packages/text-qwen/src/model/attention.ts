/** Gated full attention (`self_attn` of a `full_attention` layer): q/k RMSNorm, partial RoPE, GQA, sigmoid output gate. */
import * as C from '@sdxs/core';
import type { Qwen35TextConfig } from '../config.js';
import { applyRope, type RopeTables } from './rope.js';

/** Keys (after k_norm and RoPE) and values of one attention layer: [B, Hkv, T, hd]. */
export interface KeyValueState {
  keys: C.Tensor;
  values: C.Tensor;
}

/**
 * Writes of S new positions into fixed buffers of `capacity` positions: `place` [capacity, S] is one-hot
 * (row past + i, column i) and `keep` [capacity, 1] is 0 at the written rows, 1 elsewhere.
 */
export interface KeyValueWrite {
  place: C.Tensor;
  keep: C.Tensor;
}

/** The one-hot tensors that write positions [past, past + s) of a `capacity`-long cache. */
export function keyValueWrite(past: number, s: number, capacity: number): KeyValueWrite {
  const place = new Float32Array(capacity * s);
  const keep = new Float32Array(capacity).fill(1);
  for (let i = 0; i < s; i++) {
    place[(past + i) * s + i] = 1;
    keep[past + i] = 0;
  }
  return { place: C.tensor(place, [capacity, s]), keep: C.tensor(keep, [capacity, 1]) };
}

export class Qwen35Attention extends C.Module {
  readonly q_proj: C.nn.Linear;
  readonly k_proj: C.nn.Linear;
  readonly v_proj: C.nn.Linear;
  readonly o_proj: C.nn.Linear;
  readonly q_norm: C.nn.RMSNorm;
  readonly k_norm: C.nn.RMSNorm;

  private readonly hq: number;
  private readonly hkv: number;
  private readonly hd: number;

  constructor(cfg: Qwen35TextConfig) {
    super();
    const d = cfg.hiddenSize;
    this.hq = cfg.numAttentionHeads;
    this.hkv = cfg.numKeyValueHeads;
    this.hd = cfg.headDim;
    this.q_proj = new C.nn.Linear(d, this.hq * this.hd * 2, false);
    this.k_proj = new C.nn.Linear(d, this.hkv * this.hd, false);
    this.v_proj = new C.nn.Linear(d, this.hkv * this.hd, false);
    this.o_proj = new C.nn.Linear(this.hq * this.hd, d, false);
    this.q_norm = new C.nn.RMSNorm(this.hd, cfg.rmsNormEps, true);
    this.k_norm = new C.nn.RMSNorm(this.hd, cfg.rmsNormEps, true);
  }

  /** Query heads per kv head. */
  get groups(): number {
    return this.hq / this.hkv;
  }

  /**
   * x [B, S, D] → [B, S, D]. `bias` is the additive mask [B|1, 1, groups*S, T] from attentionBias (or null),
   * `rope` the tables for the S new positions; with `past` the keys/values are appended and returned.
   */
  forward(x: C.Tensor, rope: RopeTables, bias: C.Tensor | null, past?: KeyValueState | null, write?: KeyValueWrite | null): { out: C.Tensor; state: KeyValueState | null } {
    const [b, s] = x.shape as [number, number, number];
    const { hq, hkv, hd } = this;
    const qg = C.reshape(this.q_proj.forward(x), [b, s, hq, 2 * hd]);
    const q = this.q_norm.forward(C.sliceAxis(qg, 3, 0, hd));
    const gate = C.reshape(C.sliceAxis(qg, 3, hd, 2 * hd), [b, s, hq * hd]);
    const k = this.k_norm.forward(C.reshape(this.k_proj.forward(x), [b, s, hkv, hd]));
    const v = C.reshape(this.v_proj.forward(x), [b, s, hkv, hd]);
    const qh = applyRope(C.transpose(q, [0, 2, 1, 3]), rope);
    let kh = applyRope(C.transpose(k, [0, 2, 1, 3]), rope);
    let vh = C.transpose(v, [0, 2, 1, 3]);
    if (write) {
      // fixed-capacity cache: scatter the new positions into the buffers (one-hot product), keep the rest
      const put = (buf: C.Tensor | null, x: C.Tensor): C.Tensor => {
        const placed = C.matmul(write.place, x);
        return buf ? C.add(C.mul(buf, write.keep), placed) : placed;
      };
      kh = put(past ? past.keys : null, kh);
      vh = put(past ? past.values : null, vh);
    } else if (past) {
      kh = C.concat([past.keys, kh], 2);
      vh = C.concat([past.values, vh], 2);
    }
    // Query heads of one kv group are consecutive, so [B, Hq, S, hd] → [B, Hkv, groups*S, hd] shares K/V unrepeated.
    const qGrouped = C.reshape(qh, [b, hkv, (hq / hkv) * s, hd]);
    const attn = C.scaledDotProductAttention(qGrouped, kh, vh, { mask: bias, scale: 1 / Math.sqrt(hd) });
    const o = C.reshape(C.transpose(C.reshape(attn, [b, hq, s, hd]), [0, 2, 1, 3]), [b, s, hq * hd]);
    const out = this.o_proj.forward(C.mul(o, C.sigmoid(gate)));
    return { out, state: past !== undefined ? { keys: kh, values: vh } : null };
  }
}
