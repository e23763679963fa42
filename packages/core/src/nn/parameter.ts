import type { DType } from '../dtype.js';
import { isStorageDType } from '../dtype.js';
import { CheckpointError } from '../errors.js';
import { cast } from '../ops/create.js';
import { isLazyBackend, releaseStorageWeight } from '../graph/lazy-backend.js';
import type { LazyValue } from '../graph/lazy-value.js';
import type { Shape } from '../shape.js';
import { fmtShape } from '../shape.js';
import type { Tensor } from '../tensor.js';

/**
 * A named slot for a weight. Its `value` is set by loading (or by initialisation); it may hold a
 * float16/bfloat16 storage tensor, in which case `use()` casts it to float32 for compute (the cast
 * belongs to the caller's tidy scope).
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

  /** A float32 tensor for compute. */
  use(): Tensor {
    const t = this.value;
    return isStorageDType(t.dtype) ? cast(t, 'float32') : t;
  }

  /** Replace the value (the old one is disposed unless it is the same tensor). */
  set(t: Tensor): void {
    if (t.shape.length !== this.shape.length || t.shape.some((d, i) => d !== this.shape[i])) {
      throw new CheckpointError(`shape ${fmtShape(t.shape)} does not match the parameter's ${fmtShape(this.shape)}`);
    }
    if (this.tensor && this.tensor !== t) this.disposeValue();
    this.tensor = t;
    // on graph backends a weight is baked into the compiled graphs that use it
    if (isLazyBackend(t.backend)) t.backend.markConstant(t.handle as LazyValue);
  }

  /** Dispose the value; graph backends drop the compiled sessions that hold it. */
  private disposeValue(): void {
    if (this.tensor && this.tensor.backend === null && !this.tensor.isDisposed) releaseStorageWeight(this.tensor.handle as Uint16Array);
    this.tensor?.dispose();
  }

  dispose(): void {
    this.disposeValue();
    this.tensor = null;
  }
}
