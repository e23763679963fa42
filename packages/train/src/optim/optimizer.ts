import * as C from '@sdxs/core';

/** Trainable parameters with their checkpoint names (names key the saved optimizer state). */
export type NamedParameters = readonly (readonly [string, C.Parameter])[];

export interface AdamHyper {
  /** (beta1, beta2), default (0.9, 0.999). */
  betas?: readonly [number, number];
  /** Default 1e-8. */
  eps?: number;
  /** Decoupled weight decay (AdamW), default 0.01. */
  weightDecay?: number;
}

/** Optimizer state ready for `C.saveSafetensors`: tensors plus string metadata. */
export interface OptimizerStateDict {
  tensors: C.SafetensorsTensorMap;
  metadata: Record<string, string>;
}

/** Reads a parameter's value as a fresh float32 host array (16-bit storage is widened). */
export async function readParameter(p: C.Parameter): Promise<Float32Array> {
  const t = p.value;
  const d = await t.data();
  if (t.dtype === 'float32') return d as Float32Array;
  if (t.dtype === 'float16') return C.f16ToF32(d as Uint16Array);
  if (t.dtype === 'bfloat16') return C.bf16ToF32(d as Uint16Array);
  throw new C.DTypeError(`cannot train an ${t.dtype} parameter`);
}

/** Writes new float32 values into a parameter, keeping its storage dtype; a parameter written this way is a changing one. */
export function writeParameter(p: C.Parameter, w: Float32Array): void {
  const dt = p.value.dtype;
  p.markChanging();
  if (dt === 'float16') p.set(C.fromData(C.f32ToF16(w), p.shape, 'float16'));
  else if (dt === 'bfloat16') p.set(C.fromData(C.f32ToBf16(w), p.shape, 'bfloat16'));
  else p.set(C.fromData(w, p.shape, 'float32'));
}

/**
 * Base of the host-side optimizers. Each step reads a parameter's values and its gradient as
 * Float32Arrays, updates them in place on the host and uploads the result: the same arithmetic on
 * every backend (so a resumed run is bit-identical wherever it runs) and room for the 8-bit state
 * layout without backend kernels. The price is one download and one upload per parameter per step,
 * small next to a UNet forward and backward.
 */
export abstract class Optimizer {
  readonly params: NamedParameters;
  /** Number of completed update steps (Adam's t). */
  stepCount = 0;
  abstract readonly kind: string;

  constructor(params: NamedParameters) {
    const names = new Set<string>();
    for (const [n] of params) {
      if (names.has(n)) throw new C.InputError(`parameter '${n}' is listed twice`);
      names.add(n);
    }
    this.params = params;
  }

  /** One update with the given gradients (one per parameter, in order) and learning rate. */
  async step(grads: readonly Float32Array[], lr: number): Promise<void> {
    if (grads.length !== this.params.length) throw new C.InputError(`expected ${this.params.length} gradients, got ${grads.length}`);
    this.stepCount++;
    for (let i = 0; i < this.params.length; i++) {
      const p = this.params[i]![1];
      const g = grads[i]!;
      if (g.length !== C.sizeOf(p.shape)) throw new C.ShapeError(`gradient for '${this.params[i]![0]}' has ${g.length} values, parameter has ${C.sizeOf(p.shape)}`);
      const w = await readParameter(p);
      this.update(i, w, g, lr);
      for (let j = 0; j < w.length; j++) {
        if (!Number.isFinite(w[j]!)) throw new C.NonFiniteError(`step ${this.stepCount}: the update made '${this.params[i]![0]}' non-finite (learning rate ${lr}); its weights are left as they were`);
      }
      writeParameter(p, w);
    }
  }

  /** Update parameter i's values w in place. */
  protected abstract update(i: number, w: Float32Array, g: Float32Array, lr: number): void;

  /** Bytes of optimizer state held on the host. */
  abstract stateBytes(): number;

  abstract stateDict(): OptimizerStateDict;

  /** Restore from tensors read back from a saved state (`readTyped` results) and its metadata. */
  abstract loadStateDict(tensors: ReadonlyMap<string, C.SafetensorsTypedArray>, metadata: Record<string, string>): void;

  protected checkKind(metadata: Record<string, string>): void {
    if (metadata.optimizer !== this.kind) {
      throw new C.CheckpointError(`optimizer state was saved by '${metadata.optimizer ?? '?'}', this run uses '${this.kind}'`);
    }
  }
}

export function resolveHyper(h: AdamHyper): Required<AdamHyper> {
  return { betas: h.betas ?? [0.9, 0.999], eps: h.eps ?? 1e-8, weightDecay: h.weightDecay ?? 0.01 };
}

export function takeTensor<T extends C.SafetensorsTypedArray>(
  tensors: ReadonlyMap<string, C.SafetensorsTypedArray>,
  name: string,
  ctor: new (n: number) => T,
  length: number,
): T {
  const t = tensors.get(name);
  if (!t) throw new C.CheckpointError(`optimizer state has no tensor '${name}'`);
  if (!(t instanceof ctor) || t.length !== length) {
    throw new C.CheckpointError(`optimizer state '${name}' is a ${t.constructor.name}[${t.length}], expected ${ctor.name}[${length}]`);
  }
  return t;
}
