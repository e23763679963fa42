/** One vision transformer block (`blocks.{i}`): LayerNorm → attention within each image → LayerNorm → MLP. */
import * as C from '@sdxs/core';
import { applyRope, type RopeTables } from '../model/rope.js';
import type { Qwen35VisionConfig } from './config.js';

export class Qwen35VisionMLP extends C.Module {
  readonly linear_fc1: C.nn.Linear;
  readonly linear_fc2: C.nn.Linear;
  constructor(private readonly cfg: Qwen35VisionConfig) {
    super();
    this.linear_fc1 = new C.nn.Linear(cfg.hiddenSize, cfg.intermediateSize, true);
    this.linear_fc2 = new C.nn.Linear(cfg.intermediateSize, cfg.hiddenSize, true);
  }
  forward(x: C.Tensor): C.Tensor {
    return C.tidy(() => {
      const h = this.linear_fc1.forward(x);
      return this.linear_fc2.forward(this.cfg.hiddenAct === 'gelu' ? C.gelu(h) : C.geluTanh(h));
    });
  }
}

export class Qwen35VisionAttention extends C.Module {
  readonly qkv: C.nn.Linear;
  readonly proj: C.nn.Linear;
  constructor(private readonly cfg: Qwen35VisionConfig) {
    super();
    this.qkv = new C.nn.Linear(cfg.hiddenSize, cfg.hiddenSize * 3, true);
    this.proj = new C.nn.Linear(cfg.hiddenSize, cfg.hiddenSize, true);
  }

  /** x [N, D] (all patches of all images) → [N, D]; `segments` are the lengths of the independent attention spans. */
  forward(x: C.Tensor, rope: RopeTables, segments: readonly number[]): C.Tensor {
    return C.tidy(() => {
      const n = x.shape[0]!;
      const { numHeads: h, headDim: hd, hiddenSize: d } = this.cfg;
      // [N, 3, H, hd] → three [1, H, N, hd]
      const qkv = C.transpose(C.reshape(this.qkv.forward(x), [n, 3, h, hd]), [1, 2, 0, 3]);
      const part = (i: number): C.Tensor => C.reshape(C.sliceAxis(qkv, 0, i, i + 1), [1, h, n, hd]);
      const q = applyRope(part(0), rope);
      const k = applyRope(part(1), rope);
      const v = part(2);
      const scale = 1 / Math.sqrt(hd);
      let o: C.Tensor;
      if (segments.length === 1) {
        o = C.scaledDotProductAttention(q, k, v, { scale });
      } else {
        const outs: C.Tensor[] = [];
        let start = 0;
        for (const len of segments) {
          const s = (t: C.Tensor): C.Tensor => C.sliceAxis(t, 2, start, start + len);
          outs.push(C.scaledDotProductAttention(s(q), s(k), s(v), { scale }));
          start += len;
        }
        o = C.concat(outs, 2);
      }
      // [1, H, N, hd] → [N, H·hd]
      return this.proj.forward(C.reshape(C.transpose(C.reshape(o, [h, n, hd]), [1, 0, 2]), [n, d]));
    });
  }
}

export class Qwen35VisionBlock extends C.Module {
  readonly norm1: C.nn.LayerNorm;
  readonly norm2: C.nn.LayerNorm;
  readonly attn: Qwen35VisionAttention;
  readonly mlp: Qwen35VisionMLP;
  constructor(cfg: Qwen35VisionConfig) {
    super();
    this.norm1 = new C.nn.LayerNorm(cfg.hiddenSize, 1e-6);
    this.norm2 = new C.nn.LayerNorm(cfg.hiddenSize, 1e-6);
    this.attn = new Qwen35VisionAttention(cfg);
    this.mlp = new Qwen35VisionMLP(cfg);
  }
  forward(x: C.Tensor, rope: RopeTables, segments: readonly number[]): C.Tensor {
    return C.tidy(() => {
      const r = C.add(x, this.attn.forward(this.norm1.forward(x), rope, segments));
      return C.add(r, this.mlp.forward(this.norm2.forward(r)));
    });
  }
}
