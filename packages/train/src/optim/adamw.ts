import type * as C from '@sdxs/core';
import { Optimizer, resolveHyper, takeTensor, type AdamHyper, type NamedParameters, type OptimizerStateDict } from './optimizer.js';

/**
 * AdamW (Loshchilov & Hutter): decoupled weight decay `w -= lr * wd * w`, then the bias-corrected Adam
 * step `w -= lr * m_hat / (sqrt(v_hat) + eps)` — the same arithmetic as PyTorch's `torch.optim.AdamW`.
 * State: two float32 moments per parameter (8 bytes).
 */
export class AdamW extends Optimizer {
  readonly kind = 'adamw';
  readonly hyper: Required<AdamHyper>;
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];

  constructor(params: NamedParameters, hyper: AdamHyper = {}) {
    super(params);
    this.hyper = resolveHyper(hyper);
    this.m = params.map(([, p]) => new Float32Array(p.shape.reduce((a, b) => a * b, 1)));
    this.v = params.map(([, p]) => new Float32Array(p.shape.reduce((a, b) => a * b, 1)));
  }

  protected update(i: number, w: Float32Array, g: Float32Array, lr: number): void {
    adamUpdate(w, g, this.m[i]!, this.v[i]!, 0, w.length, lr, this.stepCount, this.hyper);
  }

  stateBytes(): number {
    return this.m.reduce((s, a) => s + a.byteLength, 0) * 2;
  }

  stateDict(): OptimizerStateDict {
    const tensors: C.SafetensorsTensorMap = {};
    this.params.forEach(([name, p], i) => {
      tensors[`${name}.exp_avg`] = { dtype: 'F32', shape: p.shape, data: this.m[i]! };
      tensors[`${name}.exp_avg_sq`] = { dtype: 'F32', shape: p.shape, data: this.v[i]! };
    });
    return { tensors, metadata: { optimizer: this.kind, step: String(this.stepCount) } };
  }

  loadStateDict(tensors: ReadonlyMap<string, C.SafetensorsTypedArray>, metadata: Record<string, string>): void {
    this.checkKind(metadata);
    this.params.forEach(([name], i) => {
      this.m[i]!.set(takeTensor(tensors, `${name}.exp_avg`, Float32Array, this.m[i]!.length));
      this.v[i]!.set(takeTensor(tensors, `${name}.exp_avg_sq`, Float32Array, this.v[i]!.length));
    });
    this.stepCount = Number(metadata.step ?? 0);
  }
}

/** The AdamW arithmetic on w[start, end) with float32 moments m, v (shared by the 8-bit variant). */
export function adamUpdate(
  w: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  start: number,
  end: number,
  lr: number,
  t: number,
  h: Required<AdamHyper>,
  stateOffset = 0,
): void {
  const [b1, b2] = h.betas;
  const bc1 = 1 - b1 ** t;
  const bc2 = 1 - b2 ** t;
  const stepSize = lr / bc1;
  const sqrtBc2 = Math.sqrt(bc2);
  const decay = 1 - lr * h.weightDecay;
  for (let i = start; i < end; i++) {
    const gi = g[i]!;
    const k = i - stateOffset;
    const mi = b1 * m[k]! + (1 - b1) * gi;
    const vi = b2 * v[k]! + (1 - b2) * gi * gi;
    m[k] = mi;
    v[k] = vi;
    w[i] = w[i]! * decay - (stepSize * mi) / (Math.sqrt(vi) / sqrtBc2 + h.eps);
  }
}
