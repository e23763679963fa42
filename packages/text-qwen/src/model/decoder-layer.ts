/** One pre-norm decoder layer: token mixer (Gated DeltaNet or gated attention) then the SwiGLU MLP. */
import * as C from '@sdxs/core';
import type { Qwen35LayerType, Qwen35TextConfig } from '../config.js';
import { Qwen35Attention, type KeyValueState, type KeyValueWrite } from './attention.js';
import { GatedDeltaNet, type DeltaRuleMode, type LinearAttentionState } from './gated-deltanet.js';
import { Qwen35MLP } from './mlp.js';
import type { RopeTables } from './rope.js';

export type LayerState = KeyValueState | LinearAttentionState;

/** What a layer needs besides its input. */
export interface LayerContext {
  /** float [B, S] padding mask of the new tokens, or null when nothing is padded */
  linearMask: C.Tensor | null;
  /** additive attention mask, or null */
  attentionBias: C.Tensor | null;
  rope: RopeTables;
  deltaRule: DeltaRuleMode;
  /** fixed-capacity cache writes (see Qwen35Cache.capacity), or null */
  kvWrite: KeyValueWrite | null;
}

export class Qwen35DecoderLayer extends C.Module {
  readonly linear_attn: GatedDeltaNet | undefined;
  readonly self_attn: Qwen35Attention | undefined;
  readonly mlp: Qwen35MLP;
  readonly input_layernorm: C.nn.RMSNorm;
  readonly post_attention_layernorm: C.nn.RMSNorm;

  constructor(cfg: Qwen35TextConfig, readonly layerType: Qwen35LayerType) {
    super();
    this.linear_attn = layerType === 'linear_attention' ? new GatedDeltaNet(cfg) : undefined;
    this.self_attn = layerType === 'full_attention' ? new Qwen35Attention(cfg) : undefined;
    this.mlp = new Qwen35MLP(cfg.hiddenSize, cfg.intermediateSize);
    this.input_layernorm = new C.nn.RMSNorm(cfg.hiddenSize, cfg.rmsNormEps, true);
    this.post_attention_layernorm = new C.nn.RMSNorm(cfg.hiddenSize, cfg.rmsNormEps, true);
  }

  /**
   * h [B, S, D] → [B, S, D]. `past` undefined: no cache; null: start a cache (the new state is returned);
   * a state: continue from it.
   */
  forward(h: C.Tensor, ctx: LayerContext, past?: LayerState | null): { out: C.Tensor; state: LayerState | null } {
    const x = this.input_layernorm.forward(h);
    let mixed: { out: C.Tensor; state: LayerState | null };
    if (this.linear_attn) {
      mixed = this.linear_attn.forward(x, ctx.linearMask, past as LinearAttentionState | null | undefined, ctx.deltaRule);
    } else {
      mixed = this.self_attn!.forward(x, ctx.rope, ctx.attentionBias, past as KeyValueState | null | undefined, ctx.kvWrite);
    }
    const r = C.add(h, mixed.out);
    const out = C.add(r, this.mlp.forward(this.post_attention_layernorm.forward(r)));
    return { out, state: mixed.state };
  }
}
