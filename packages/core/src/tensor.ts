import type { DataArray, DType } from './dtype.js';
import { bytesPerElement, isStorageDType } from './dtype.js';
import { SdxsError } from './errors.js';
import type { Shape } from './shape.js';
import { fmtShape, sizeOf } from './shape.js';
import type { Backend } from './backend.js';
import type { HostStorage } from './io/host-storage.js';
import type { GradNode } from './autograd/tape.js';

let nextId = 1;

/** Hooks the engine installs so that Tensor stays free of engine imports (no cycle). */
export interface TensorHooks {
  onCreate(t: Tensor): void;
  onDispose(t: Tensor): void;
}
let hooks: TensorHooks | null = null;
export function installTensorHooks(h: TensorHooks): void {
  hooks = h;
}

/**
 * An n-dimensional array living on one backend. Storage dtypes (float16, bfloat16) live on the host as
 * raw bits and are cast to float32 (with `cast`) before compute.
 */
export class Tensor {
  readonly id: number;
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly size: number;
  /** Backend holding the data; null for host-resident storage tensors. */
  readonly backend: Backend | null;
  /** Backend handle, or the raw 16-bit words for storage dtypes. */
  readonly handle: unknown;
  /** Set by the autograd tape when this tensor is the output of a recorded op. */
  gradNode: GradNode | null = null;
  /** Number of live autograd tapes that saved this tensor for the backward pass. */
  tapeRefs = 0;
  private disposedFlag = false;
  private pendingDispose = false;

  constructor(shape: Shape, dtype: DType, backend: Backend | null, handle: unknown) {
    this.id = nextId++;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.size = sizeOf(shape);
    this.backend = backend;
    this.handle = handle;
    hooks?.onCreate(this);
  }

  get rank(): number {
    return this.shape.length;
  }
  get isDisposed(): boolean {
    return this.disposedFlag;
  }
  get bytes(): number {
    return this.size * bytesPerElement(this.dtype);
  }
  get backendName(): string {
    return this.backend?.name ?? 'host';
  }

  /** The values as a typed array (Float32Array, Int32Array, or Uint16Array bits for 16-bit storage). */
  async data(): Promise<DataArray> {
    this.assertLive();
    if (this.backend === null) return (await (this.handle as HostStorage).load()).slice();
    if (isStorageDType(this.dtype)) throw new SdxsError('DTYPE', 'storage tensor on a backend');
    return this.backend.read(this.handle, this.shape, this.dtype as 'float32' | 'int32');
  }

  /** Synchronous read on backends that allow it (cpu, tfjs-cpu, tfjs-wasm); throws elsewhere. */
  dataSync(): DataArray {
    this.assertLive();
    if (this.backend === null) return (this.handle as HostStorage).bits.slice();
    if (!this.backend.readSync) {
      throw new SdxsError('UNSUPPORTED', `backend '${this.backend.name}' cannot read synchronously; use await t.data()`);
    }
    return this.backend.readSync(this.handle, this.shape, this.dtype as 'float32' | 'int32');
  }

  /** Nested arrays are rarely needed; `array()` gives a flat number[] for small tensors and tests. */
  async array(): Promise<number[]> {
    return Array.from(await this.data());
  }

  dispose(): void {
    if (this.disposedFlag) return;
    if (this.tapeRefs > 0) {
      this.pendingDispose = true;
      return;
    }
    this.disposedFlag = true;
    if (this.backend) this.backend.dispose(this.handle);
    hooks?.onDispose(this);
  }

  /** Called by a tape when it releases this tensor. */
  releaseTapeRef(): void {
    this.tapeRefs--;
    if (this.tapeRefs === 0 && this.pendingDispose) {
      this.pendingDispose = false;
      this.dispose();
    }
  }

  assertLive(): void {
    if (this.disposedFlag) {
      throw new SdxsError('DISPOSED', `tensor #${this.id} ${fmtShape(this.shape)} ${this.dtype} was disposed`);
    }
  }

  toString(): string {
    return `Tensor(${fmtShape(this.shape)}, ${this.dtype}, ${this.backendName})`;
  }
}
