import type * as C from '@sdxs/core';
import { InputError } from '@sdxs/core';
import { adamUpdate } from './adamw.js';
import { Optimizer, resolveHyper, takeTensor, type AdamHyper, type NamedParameters, type OptimizerStateDict } from './optimizer.js';
import { allocQuantized, codeBounds, dequantizeBlock, quantMap, quantizeBlock, type QuantizedState, type QuantMapKind } from './quantize.js';

export interface AdamW8bitOptions extends AdamHyper {
  /** Values per quantization block: 256 or 2048 (default 256). */
  blockSize?: 256 | 2048;
  /** Code book: 'dynamic' (dynamic tree, default) or 'linear'. */
  quantMap?: QuantMapKind;
  /** Parameters with fewer values keep 32-bit state (default 4096, as bitsandbytes does). */
  min8bitSize?: number;
}

interface ParamState {
  /** 8-bit moments (null: this parameter keeps float32 moments). */
  q: { m: QuantizedState; v: QuantizedState } | null;
  m32: Float32Array | null;
  v32: Float32Array | null;
}

/**
 * AdamW with block-wise 8-bit moments (Dettmers et al. 2022). Per block: dequantize the first moment
 * (signed map) and the second (unsigned map) into float32 scratch, run the AdamW arithmetic, quantize
 * both back with fresh per-block absmax. State: 2 bytes per value plus 2 float32 scales per block
 * (~2.03 bytes per parameter at block size 256); small parameters keep float32 state.
 */
export class AdamW8bit extends Optimizer {
  readonly kind = 'adamw8bit';
  readonly hyper: Required<AdamHyper>;
  readonly blockSize: number;
  readonly mapKind: QuantMapKind;
  private readonly state: ParamState[];
  private readonly codeM: Float32Array;
  private readonly codeV: Float32Array;
  private readonly boundsM: Float32Array;
  private readonly boundsV: Float32Array;
  private readonly scratchM: Float32Array;
  private readonly scratchV: Float32Array;

  constructor(params: NamedParameters, opts: AdamW8bitOptions = {}) {
    super(params);
    this.hyper = resolveHyper(opts);
    this.blockSize = opts.blockSize ?? 256;
    if (this.blockSize !== 256 && this.blockSize !== 2048) throw new InputError(`blockSize must be 256 or 2048, got ${this.blockSize}`);
    this.mapKind = opts.quantMap ?? 'dynamic';
    const min8 = opts.min8bitSize ?? 4096;
    this.codeM = quantMap(this.mapKind, true);
    this.codeV = quantMap(this.mapKind, false);
    this.boundsM = codeBounds(this.codeM);
    this.boundsV = codeBounds(this.codeV);
    this.scratchM = new Float32Array(this.blockSize);
    this.scratchV = new Float32Array(this.blockSize);
    this.state = params.map(([, p]) => {
      const n = p.shape.reduce((a, b) => a * b, 1);
      if (n >= min8) return { q: { m: allocQuantized(n, this.blockSize), v: allocQuantized(n, this.blockSize) }, m32: null, v32: null };
      return { q: null, m32: new Float32Array(n), v32: new Float32Array(n) };
    });
  }

  protected update(i: number, w: Float32Array, g: Float32Array, lr: number): void {
    const s = this.state[i]!;
    if (!s.q) {
      adamUpdate(w, g, s.m32!, s.v32!, 0, w.length, lr, this.stepCount, this.hyper);
      return;
    }
    const bs = this.blockSize;
    for (let b = 0, start = 0; start < w.length; b++, start += bs) {
      const end = Math.min(w.length, start + bs);
      // The block's moments live in block-sized scratch arrays indexed from `start`.
      dequantizeBlock(s.q.m, b, start, end, this.codeM, this.scratchM, start);
      dequantizeBlock(s.q.v, b, start, end, this.codeV, this.scratchV, start);
      adamUpdate(w, g, this.scratchM, this.scratchV, start, end, lr, this.stepCount, this.hyper, start);
      quantizeBlock(this.scratchM, s.q.m, b, start, end, this.boundsM, start);
      quantizeBlock(this.scratchV, s.q.v, b, start, end, this.boundsV, start);
    }
  }

  stateBytes(): number {
    let n = 0;
    for (const s of this.state) {
      if (s.q) n += s.q.m.codes.byteLength + s.q.v.codes.byteLength + s.q.m.absmax.byteLength + s.q.v.absmax.byteLength;
      else n += s.m32!.byteLength + s.v32!.byteLength;
    }
    return n;
  }

  stateDict(): OptimizerStateDict {
    const tensors: C.SafetensorsTensorMap = {};
    this.params.forEach(([name, p], i) => {
      const s = this.state[i]!;
      if (s.q) {
        tensors[`${name}.exp_avg.codes`] = { dtype: 'U8', shape: p.shape, data: s.q.m.codes };
        tensors[`${name}.exp_avg.absmax`] = { dtype: 'F32', shape: [s.q.m.absmax.length], data: s.q.m.absmax };
        tensors[`${name}.exp_avg_sq.codes`] = { dtype: 'U8', shape: p.shape, data: s.q.v.codes };
        tensors[`${name}.exp_avg_sq.absmax`] = { dtype: 'F32', shape: [s.q.v.absmax.length], data: s.q.v.absmax };
      } else {
        tensors[`${name}.exp_avg`] = { dtype: 'F32', shape: p.shape, data: s.m32! };
        tensors[`${name}.exp_avg_sq`] = { dtype: 'F32', shape: p.shape, data: s.v32! };
      }
    });
    return {
      tensors,
      metadata: { optimizer: this.kind, step: String(this.stepCount), block_size: String(this.blockSize), quant_map: this.mapKind },
    };
  }

  loadStateDict(tensors: ReadonlyMap<string, C.SafetensorsTypedArray>, metadata: Record<string, string>): void {
    this.checkKind(metadata);
    if (Number(metadata.block_size) !== this.blockSize || metadata.quant_map !== this.mapKind) {
      throw new InputError(`saved 8-bit state uses block ${metadata.block_size}/${metadata.quant_map}, this optimizer ${this.blockSize}/${this.mapKind}`);
    }
    this.params.forEach(([name], i) => {
      const s = this.state[i]!;
      if (s.q) {
        s.q.m.codes.set(takeTensor(tensors, `${name}.exp_avg.codes`, Uint8Array, s.q.m.codes.length));
        s.q.m.absmax.set(takeTensor(tensors, `${name}.exp_avg.absmax`, Float32Array, s.q.m.absmax.length));
        s.q.v.codes.set(takeTensor(tensors, `${name}.exp_avg_sq.codes`, Uint8Array, s.q.v.codes.length));
        s.q.v.absmax.set(takeTensor(tensors, `${name}.exp_avg_sq.absmax`, Float32Array, s.q.v.absmax.length));
      } else {
        s.m32!.set(takeTensor(tensors, `${name}.exp_avg`, Float32Array, s.m32!.length));
        s.v32!.set(takeTensor(tensors, `${name}.exp_avg_sq`, Float32Array, s.v32!.length));
      }
    });
    this.stepCount = Number(metadata.step ?? 0);
  }
}
