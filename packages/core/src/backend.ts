import type { ComputeDType } from './dtype.js';
import type { Shape } from './shape.js';

/**
 * The closed op set. Every backend implements every op (the kernel table type makes a missing one a
 * compile error). Ops are pure functions of their inputs and attributes; output shapes are computed by
 * the frontend before a kernel runs, so a graph-compiling backend can implement the same table.
 */
export type UnaryFn =
  | 'neg' | 'exp' | 'log' | 'sqrt' | 'rsqrt' | 'abs' | 'sigmoid' | 'silu' | 'gelu' | 'gelu_tanh'
  | 'softplus' | 'tanh' | 'sin' | 'cos' | 'square' | 'reciprocal' | 'relu' | 'floor' | 'sign' | 'erf';
export type BinaryFn =
  | 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum'
  | 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';
export type ReduceFn = 'sum' | 'mean' | 'max' | 'min';
export type PadMode = 'constant' | 'reflect';

export interface OpAttrs {
  /** out = fn(x) */
  unary: { fn: UnaryFn };
  /** broadcasting; comparisons give 0/1 in the output dtype */
  binary: { fn: BinaryFn };
  /** inputs: cond (non-zero = true), a, b; broadcasting */
  where: Record<string, never>;
  /** reduces `axes` (sorted, non-negative); output keeps them as size 1 */
  reduce: { fn: ReduceFn; axes: number[] };
  cumsum: { axis: number; exclusive: boolean; reverse: boolean };
  /** softmax over the last axis */
  softmax: Record<string, never>;
  /** batched [..., M, K] x [..., K, N] with broadcast batch dims */
  matmul: { transposeA: boolean; transposeB: boolean };
  /** inputs: x [N, C, H, W], w [O, C/groups, kH, kW], bias [O] | null; padding is [top, bottom, left, right] */
  conv2d: { stride: [number, number]; padding: [number, number, number, number]; dilation: [number, number]; groups: number };
  /** inputs: x [N, C, ...], weight [C] | null, bias [C] | null */
  groupNorm: { groups: number; eps: number };
  /** normalises the last axis; inputs: x, weight | null, bias | null */
  layerNorm: { eps: number };
  /** x * rsqrt(mean(x^2) + eps) * (unitOffset ? 1 + w : w) over the last axis; inputs: x, weight | null */
  rmsNorm: { eps: number; unitOffset: boolean };
  /** inputs: q [B, H, Sq, D], k [B, H, Sk, D], v [B, H, Sk, Dv], additive mask broadcastable to [B, H, Sq, Sk] | null */
  attention: { scale: number; causal: boolean };
  /** nearest-neighbour resize of the last two axes (PyTorch 'nearest' index rule) */
  upsampleNearest: { size: [number, number] };
  /** pads[i] = [before, after] for every axis */
  pad: { pads: [number, number][]; mode: PadMode; value: number };
  /** inputs: all parts */
  concat: { axis: number };
  slice: { begin: number[]; size: number[] };
  /** inputs: x, indices (int32, any shape); out shape = x.shape[:axis] + indices.shape + x.shape[axis+1:] */
  gather: { axis: number };
  transpose: { perm: number[] };
  reshape: { shape: number[] };
  cast: { dtype: ComputeDType };
}
export type OpName = keyof OpAttrs;

export interface KernelInput<H> {
  readonly handle: H;
  readonly shape: Shape;
  readonly dtype: ComputeDType;
}
export interface KernelOutput {
  readonly shape: Shape;
  readonly dtype: ComputeDType;
}
export type Kernel<K extends OpName, H> = (
  inputs: readonly (KernelInput<H> | null)[],
  attrs: OpAttrs[K],
  out: KernelOutput,
) => H;
export type KernelTable<H> = { readonly [K in OpName]: Kernel<K, H> };

/** One interface for every backend: explicit memory (upload / read / dispose) and a kernel table. */
/**
 * The element type a backend computes floating-point ops in (its weights may be stored in 16 bits either way):
 * 'int8' is float32 with the matrix products and long convolutions by constant weights on int8 kernels
 * (ort-cpu in Node/Bun/Deno; see core/src/onnx/int8.ts for the scheme and its accuracy budget).
 */
export type ComputePrecision = 'float16' | 'float32' | 'int8';

/** Options of `setBackend`. */
export interface BackendOptions {
  /**
   * 'float16' (compiled float16 graphs: ort-*), 'float32', 'int8' (float32 with int8 products: ort-cpu), or
   * 'auto' (the default): float16 on CUDA and on a WebGPU adapter with `shader-f16`, float32 elsewhere (never
   * int8: its error depends on the model's weights and activations, so it is chosen, not implied).
   */
  compute?: ComputePrecision | 'auto';
}

export interface Backend<H = unknown> {
  readonly name: string;
  readonly kernels: KernelTable<H>;
  /** The precision its float ops compute in; float32 when absent. */
  readonly compute?: ComputePrecision;
  /**
   * Runs on a software emulation of its device (e.g. WebGPU on SwiftShader): correct but far slower than
   * the CPU backends, so the automatic choice passes it over unless nothing else starts.
   */
  readonly software?: boolean;
  /**
   * Most bytes the backend can hold at once, where it has a hard ceiling (tfjs-wasm: its 4 GiB heap,
   * beyond which the wasm module aborts). Loaders estimate resident bytes first and refuse what cannot fit.
   */
  readonly memoryLimitBytes?: number;
  upload(data: Float32Array | Int32Array, shape: Shape, dtype: ComputeDType): H;
  read(handle: H, shape: Shape, dtype: ComputeDType): Promise<Float32Array | Int32Array>;
  /** Synchronous read where the backend can do it without blocking a GPU queue. */
  readSync?(handle: H, shape: Shape, dtype: ComputeDType): Float32Array | Int32Array;
  dispose(handle: H): void;
  /** Bytes the backend holds now, where it can tell (GPU pools may keep freed buffers). */
  backendBytes?(): number;
  /** Free caches and wait for queued work. */
  sync?(): Promise<void>;
}

export const OP_NAMES: readonly OpName[] = [
  'unary', 'binary', 'where', 'reduce', 'cumsum', 'softmax', 'matmul', 'conv2d', 'groupNorm', 'layerNorm',
  'rmsNorm', 'attention', 'upsampleNearest', 'pad', 'concat', 'slice', 'gather', 'transpose', 'reshape', 'cast',
] as const satisfies readonly OpName[];
