import type * as C from '@sdxs/core';
import { readParameter, type NamedParameters } from './optim/optimizer.js';

/**
 * Exponential moving average of the trained weights, kept on the host in float32:
 * `ema = decay * ema + (1 - decay) * w` after each optimizer step.
 */
export class Ema {
  readonly decay: number;
  readonly shadow: Map<string, Float32Array> = new Map();
  private readonly params: NamedParameters;

  private constructor(params: NamedParameters, decay: number) {
    this.params = params;
    this.decay = decay;
  }

  static async create(params: NamedParameters, decay = 0.9999): Promise<Ema> {
    const e = new Ema(params, decay);
    for (const [n, p] of params) e.shadow.set(n, await readParameter(p));
    return e;
  }

  async update(): Promise<void> {
    const d = this.decay;
    for (const [n, p] of this.params) {
      const w = await readParameter(p);
      const s = this.shadow.get(n)!;
      for (let i = 0; i < s.length; i++) s[i] = d * s[i]! + (1 - d) * w[i]!;
    }
  }

  /** The shadow weights as a safetensors map (parameter names as keys). */
  tensors(): C.SafetensorsTensorMap {
    const out: C.SafetensorsTensorMap = {};
    for (const [n, p] of this.params) out[n] = { dtype: 'F32', shape: p.shape, data: this.shadow.get(n)! };
    return out;
  }

  load(tensors: ReadonlyMap<string, C.SafetensorsTypedArray>): void {
    for (const [n, s] of this.shadow) {
      const t = tensors.get(n);
      if (!(t instanceof Float32Array) || t.length !== s.length) throw new Error(`EMA state for '${n}' is missing or mis-shaped`);
      s.set(t);
    }
  }
}
