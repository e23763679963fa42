import type { KernelInput, KernelOutput, OpAttrs, OpName } from '../../backend.js';

/** The tfjs namespace (tfjs-core, or tfjs-node which re-exports it). Type-only: nothing loads at import. */
export type TF = typeof import('@tensorflow/tfjs-core');
export type T = import('@tensorflow/tfjs-core').Tensor;
export type Rank4 = import('@tensorflow/tfjs-core').Tensor4D;

/** A kernel body: runs inside tf.tidy; may return a tensor of another dtype (the wrapper casts to out.dtype). */
export type TfKernel<K extends OpName> = (inputs: readonly (KernelInput<T> | null)[], attrs: OpAttrs[K], out: KernelOutput) => T;
export type TfKernels = { readonly [K in OpName]: TfKernel<K> };

/** What kernels share: the tf namespace and per-weight caches released when a handle is disposed. */
export interface TfContext {
  readonly tf: TF;
  /** Cached derived tensors (e.g. conv weights in HWIO) per source handle and layout key. */
  derived(src: T, key: string, make: () => T): T;
}
