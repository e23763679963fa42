import type { Backend, ComputePrecision, KernelInput, KernelTable, OpAttrs, OpName, WeightKind } from '../backend.js';
import { OP_NAMES } from '../backend.js';
import type { ComputeDType } from '../dtype.js';
import type { HostStorage } from '../io/host-storage.js';
import { SdxsError } from '../errors.js';
import { bf16ToF32, f16ToF32 } from '../io/half.js';
import { sizeOf, type Shape } from '../shape.js';
import { type HostArray, LazyValue, type SegmentOutput } from './lazy-value.js';
import { pendingCuts, planSegment, type Segment } from './segment.js';

/** Compiles and runs segments (ONNX Runtime, for the ort-* backends). */
export interface SegmentRunner {
  /** Run synchronously, where the runtime allows it (onnxruntime-node does). */
  runSync?(seg: Segment): HostArray[];
  /** Outputs may stay in device memory (DeviceValue) where the runtime keeps them there. */
  run(seg: Segment): Promise<SegmentOutput[]>;
  /** The host data of a value kept in device memory. */
  download?(v: LazyValue): Promise<HostArray>;
  /** A weight was disposed: drop compiled sessions that hold it. */
  release?(weight: LazyValue): void;
  /** Drop every compiled session. */
  clear?(): void;
  /** Compiled sessions held now. */
  size?(): number;
}

/**
 * A backend that records ops into a graph and compiles it when values are read (see graph/boundary.ts). Its
 * capabilities are those of every Backend (compiles, fromStorage, markWeight, realize, sequence), all
 * implemented; `runner` and `realizeSync` are for the graph code and tests.
 */
export interface LazyBackend extends Backend<LazyValue> {
  readonly lazy: true;
  readonly compiles: true;
  readonly runner: SegmentRunner;
  /** A float32 view of 16-bit host weights, kept 16-bit until the compiled graph casts them. */
  fromStorage(host: HostStorage, shape: Shape, weight: WeightKind | null): LazyValue;
  /** A constant weight becomes an initializer of every graph that uses it (keyed by identity); a changing one a graph input. */
  markWeight(v: LazyValue, kind: WeightKind): void;
  realize(values: readonly LazyValue[]): Promise<void>;
  realizeSync(values: readonly LazyValue[]): void;
  sequence(xs: readonly KernelInput<LazyValue>[], after: KernelInput<LazyValue>): LazyValue[];
}

export function isLazyBackend(b: unknown): b is LazyBackend {
  return !!b && (b as Partial<LazyBackend>).lazy === true;
}

const lazyBackends = new Set<{ storageViews: WeakMap<HostStorage, LazyValue>; runner: SegmentRunner }>();

/** 16-bit host weights are being disposed: drop the compiled sessions of every graph backend that hold them. */
export function releaseStorageWeight(host: HostStorage): void {
  for (const b of lazyBackends) {
    const v = b.storageViews.get(host);
    if (v) b.runner.release?.(v);
  }
}

let nextGroup = 1;
/** A fresh group id: cut values of one group are computed by one segment. */
export const newCutGroup = (): number => nextGroup++;

function groupsOf(cuts: readonly LazyValue[]): LazyValue[][] {
  const by = new Map<number, LazyValue[]>();
  for (const c of cuts) {
    const g = c.group || -c.id;
    let list = by.get(g);
    if (!list) by.set(g, (list = []));
    list.push(c);
  }
  return [...by.values()].sort((a, b) => a[0]!.id - b[0]!.id);
}

/** The value's data as a fresh host array (16-bit weights widened to float32). */
function hostCopy(v: LazyValue): HostArray {
  if (v.data) return v.data.slice();
  const s = v.storage!;
  return s.dtype === 'float16' ? f16ToF32(s.bits) : bf16ToF32(s.bits);
}

const labelOf = (vs: readonly LazyValue[]): string => vs.find((v) => v.label)?.label ?? 'ops';

export function createLazyBackend(name: string, runner: SegmentRunner, opts: { software?: boolean; compute?: ComputePrecision } = {}): LazyBackend {
  const kernels = Object.fromEntries(
    OP_NAMES.map((op) => [
      op,
      (inputs: readonly ({ handle: LazyValue } | null)[], attrs: OpAttrs[OpName], out: { shape: Shape; dtype: ComputeDType }) =>
        LazyValue.pendingOp(op, inputs.map((i) => i?.handle ?? null), attrs, out.shape, out.dtype),
    ]),
  ) as unknown as KernelTable<LazyValue>;
  const storageViews = new WeakMap<HostStorage, LazyValue>();
  lazyBackends.add({ storageViews, runner });

  const targetsOf = (values: readonly LazyValue[]): LazyValue[] => [...new Set(values.filter((v) => v.pending))];

  async function realize(values: readonly LazyValue[]): Promise<void> {
    const targets = targetsOf(values);
    if (!targets.length) return;
    for (const group of groupsOf(pendingCuts(targets))) await realize(group);
    const seg = planSegment(targets, labelOf(targets));
    const outs = await runner.run(seg);
    seg.outputs.forEach((v, i) => v.resolve(outs[i]!));
  }

  function realizeSync(values: readonly LazyValue[]): void {
    const targets = targetsOf(values);
    if (!targets.length) return;
    if (!runner.runSync) throw new SdxsError('UNSUPPORTED', `backend '${name}' cannot run synchronously here; use await t.data()`);
    for (const group of groupsOf(pendingCuts(targets))) realizeSync(group);
    const seg = planSegment(targets, labelOf(targets));
    const outs = runner.runSync(seg);
    seg.outputs.forEach((v, i) => v.resolve(outs[i]!));
  }

  return {
    name,
    lazy: true,
    compiles: true,
    runner,
    software: opts.software,
    compute: opts.compute ?? 'float32',
    kernels,
    upload(data, shape, dtype) {
      if (data.length !== sizeOf(shape)) throw new RangeError(`upload: ${data.length} values for shape [${shape.join(', ')}]`);
      return LazyValue.leaf(data.slice(), shape, dtype);
    },
    fromStorage(host, shape, weight) {
      let v = storageViews.get(host);
      if (!v) storageViews.set(host, (v = LazyValue.fromStorage(host, shape, weight === 'constant')));
      return v;
    },
    markWeight(v, kind) {
      v.constant = kind === 'constant';
    },
    sequence(xs, after) {
      // where(c, x, x) with c read from one element of `after`: x in either branch, bit for bit (no
      // arithmetic, so an Inf or NaN in `after` cannot leak), yet not computable before `after` is
      const n = sizeOf(after.shape);
      let cond: LazyValue;
      if (n === 0) cond = LazyValue.leaf(new Float32Array([1]), [], 'float32');
      else {
        const flat = LazyValue.pendingOp('reshape', [after.handle], { shape: [n] }, [n], after.dtype);
        const first = LazyValue.pendingOp('slice', [flat], { begin: [0], size: [1] }, [1], after.dtype);
        const one = LazyValue.pendingOp('reshape', [first], { shape: [] }, [], after.dtype);
        cond = LazyValue.pendingOp('binary', [one, one], { fn: 'eq' }, [], after.dtype);
      }
      return xs.map((x) => LazyValue.pendingOp('where', [cond, x.handle, x.handle], {}, x.shape, x.dtype));
    },
    async read(h) {
      await realize([h]);
      if (!h.data && h.device) {
        if (!runner.download) throw new SdxsError('UNSUPPORTED', `backend '${name}' kept a value on its device but cannot download it`);
        h.data = await runner.download(h);
      }
      return hostCopy(h);
    },
    readSync(h) {
      realizeSync([h]);
      if (!h.data && h.device) throw new SdxsError('UNSUPPORTED', `backend '${name}' holds this value in device memory; use await t.data()`);
      return hostCopy(h);
    },
    dispose(h) {
      // 16-bit weights are shared views (every use wraps the same value): their sessions go with the host
      // storage (releaseStorageWeight), not with a wrapper
      if (h.constant && !h.storage) runner.release?.(h);
    },
    realize,
    realizeSync,
  };
}
