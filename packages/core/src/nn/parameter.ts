import type { DType } from '../dtype.js';
import { isStorageDType } from '../dtype.js';
import { CheckpointError } from '../errors.js';
import { castTo } from '../ops/create.js';
import type { WeightKind } from '../backend.js';
import { releaseStorageWeight } from '../graph/lazy-backend.js';
import type { HostStorage } from '../io/host-storage.js';
import type { Shape } from '../shape.js';
import { fmtShape } from '../shape.js';
import type { Tensor } from '../tensor.js';

/**
 * A named slot for a weight. Its `value` is set by loading (or by initialisation); it may hold a
 * float16/bfloat16 storage tensor, in which case `use()` casts it to float32 for compute (the cast
 * belongs to the caller's tidy scope). It is a constant (frozen) weight until `markChanging()` says its
 * value will be replaced between runs (training, a fused adapter): the backend is told which (see WeightKind).
 */
export class Parameter {
  readonly shape: readonly number[];
  private tensor: Tensor | null = null;
  /** Whether the trainer updates it. */
  trainable = true;

  constructor(shape: Shape) {
    this.shape = [...shape];
  }

  get isSet(): boolean {
    return this.tensor !== null && !this.tensor.isDisposed;
  }

  /** The stored tensor (any dtype). */
  get value(): Tensor {
    if (!this.tensor) throw new CheckpointError(`parameter ${fmtShape(this.shape)} has no value: load weights first`);
    return this.tensor;
  }

  get dtype(): DType | null {
    return this.tensor?.dtype ?? null;
  }

  private kind: WeightKind = 'constant';

  /** 'constant' (a frozen weight: compiled graphs bake it in) or 'changing' (fed to compiled graphs per run). */
  get weightKind(): WeightKind {
    return this.kind;
  }

  /** A float32 tensor for compute. */
  use(): Tensor {
    const t = this.value;
    return isStorageDType(t.dtype) ? castTo(t, 'float32', this.kind) : t;
  }

  /** Replace the value (the old one is disposed unless it is the same tensor); it is a weight of this parameter's kind. */
  set(t: Tensor): void {
    if (t.shape.length !== this.shape.length || t.shape.some((d, i) => d !== this.shape[i])) {
      throw new CheckpointError(`shape ${fmtShape(t.shape)} does not match the parameter's ${fmtShape(this.shape)}`);
    }
    if (this.tensor && this.tensor !== t) this.disposeValue();
    this.tensor = t;
    t.backend?.markWeight?.(t.handle, this.kind);
  }

  /**
   * Declare that the value will be replaced between runs (a parameter about to be trained, one an optimizer
   * writes): from now on compiled graphs take it as an input instead of baking it, so the first training step
   * compiles the graph that every later step reuses (no second compile, no second copy of the graph's weights).
   */
  markChanging(): void {
    this.kind = 'changing';
    const t = this.tensor;
    if (t) t.backend?.markWeight?.(t.handle, 'changing');
  }

  /** Dispose the value; graph backends drop the compiled sessions that hold it. */
  private disposeValue(): void {
    if (this.tensor && this.tensor.backend === null && !this.tensor.isDisposed) releaseStorageWeight(this.tensor.handle as HostStorage);
    this.tensor?.dispose();
  }

  /** Swap in a new value of the same shape and hand back the old one, not disposed (LoRA fuse/unfuse). */
  replace(t: Tensor): Tensor {
    const old = this.value;
    if (t.shape.length !== this.shape.length || t.shape.some((d, i) => d !== this.shape[i])) {
      throw new CheckpointError(`shape ${fmtShape(t.shape)} does not match the parameter's ${fmtShape(this.shape)}`);
    }
    this.tensor = t;
    // a swapped-in (fused) value feeds compiled graphs as an input: fusing again does not rebuild them. The
    // value itself is not marked: a base weight swapped back in stays the constant it was loaded as.
    this.kind = 'changing';
    return old;
  }

  dispose(): void {
    this.disposeValue();
    this.tensor = null;
  }
}
