import type { OpAttrs, OpName } from '../backend.js';
import type { ComputeDType } from '../dtype.js';
import type { HostStorage } from '../io/host-storage.js';
import { inFullPrecision } from './full-precision.js';

let nextValueId = 1;

/** The id of the newest value: values made after this call have larger ids. */
export const lastValueId = (): number => nextValueId - 1;

/** Host data of a realised value or a leaf. */
export type HostArray = Float32Array | Int32Array;

/**
 * A realised value left in the runtime's device memory (a GPU buffer): later graphs take it as an input as
 * is, and only a read brings it to the host. Freed with the runtime tensor that holds it.
 */
export interface DeviceValue {
  readonly tensor: unknown;
  dispose(): void;
}

/** What running a segment gives for each output. */
export type SegmentOutput = HostArray | DeviceValue;

export const isHostArray = (o: SegmentOutput): o is HostArray => o instanceof Float32Array || o instanceof Int32Array;


/**
 * A tensor on a graph-compiling backend. It is one of:
 * - a leaf: data uploaded from the host (`data`), or 16-bit weights (`storage`) cast to float32 in the graph;
 * - a pending op: `op`, `inputs` and `attrs`, recorded but not run yet;
 * - a realised op: a pending op after its segment ran (`data` set, the op forgotten so inputs can be freed).
 * Constant leaves (model weights) become graph initializers; other leaves become graph inputs.
 */
export class LazyValue {
  readonly id = nextValueId++;
  data: HostArray | null = null;
  /** the value in device memory (outputs of GPU sessions), with or without a host copy in `data` */
  device: DeviceValue | null = null;
  /** 16-bit host weights (bits and dtype), cast to float32 in the graph */
  storage: HostStorage | null = null;
  op: OpName | null = null;
  inputs: readonly (LazyValue | null)[] = [];
  attrs: OpAttrs[OpName] | null = null;
  /** Weights: baked into the compiled graph as initializers, keyed by identity. */
  constant = false;
  /** A segment boundary: computed by a graph of its own, then fed to its consumers as an input. */
  cut = false;
  /** Cut values of one group (the outputs of one compiled region) are computed by one segment. */
  group = 0;
  /** A weight whose owner disposed it: a graph that still used it runs once but is not kept. */
  released = false;
  /** Name of the compiled region that produced it (progress and cache labels). */
  label: string | null = null;
  /** Recorded inside a fullPrecision region: computes in float32 in a float16 graph. */
  fullPrecision = false;

  constructor(
    readonly shape: readonly number[],
    readonly dtype: ComputeDType,
  ) {}

  get pending(): boolean {
    return this.op !== null && this.data === null && this.device === null;
  }

  static leaf(data: HostArray, shape: readonly number[], dtype: ComputeDType): LazyValue {
    const v = new LazyValue(shape, dtype);
    v.data = data;
    return v;
  }

  static fromStorage(host: HostStorage, shape: readonly number[], constant = true): LazyValue {
    const v = new LazyValue(shape, 'float32');
    v.storage = host;
    v.constant = constant;
    return v;
  }

  static pendingOp<K extends OpName>(op: K, inputs: readonly (LazyValue | null)[], attrs: OpAttrs[K], shape: readonly number[], dtype: ComputeDType): LazyValue {
    const v = new LazyValue(shape, dtype);
    v.op = op;
    v.inputs = inputs;
    v.attrs = attrs;
    v.fullPrecision = inFullPrecision();
    return v;
  }

  /** Record the result of running this value's segment and drop the recipe. */
  resolve(out: SegmentOutput): void {
    if (isHostArray(out)) this.data = out;
    // a device value goes with the runtime tensor that holds it, when that is collected (onnxruntime-node
    // aborts the process when a GPU tensor is released from a finalizer)
    else this.device = out;
    this.inputs = [];
    this.attrs = null;
  }
}
