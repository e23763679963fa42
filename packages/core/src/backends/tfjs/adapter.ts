import type { Backend, Kernel, KernelTable, OpName } from '../../backend.js';
import { OP_NAMES } from '../../backend.js';
import { SdxsError } from '../../errors.js';
import { shapesEqual, sizeOf } from '../../shape.js';
import { mathKernels } from './math.js';
import { movementKernels } from './movement.js';
import { nnKernels } from './nn.js';
import type { T, TF, TfContext, TfKernel, TfKernels } from './types.js';

export interface TfjsBackendOptions {
  /** sdxs name, e.g. 'tfjs-wasm' */
  name: string;
  /** tfjs backend name, e.g. 'wasm' (already registered and initialised in tf) */
  tfBackend: string;
  /** whether dataSync is allowed (cpu/wasm/node; never a GPU queue) */
  syncRead: boolean;
  /** copy on read: tfjs-cpu hands out its own storage */
  copyOnRead: boolean;
}

/**
 * The `Backend` interface on top of one tfjs backend. Handles are tf.Tensors; every kernel runs in
 * tf.tidy and returns exactly one new tf.Tensor of the requested dtype, so nothing leaks into tf's engine.
 */
export function createTfjsBackend(tf: TF, opts: TfjsBackendOptions): Backend<T> {
  const derived = new WeakMap<T, Map<string, T>>();
  const ctx: TfContext = {
    tf,
    derived(src, key, make) {
      let m = derived.get(src);
      const hit = m?.get(key);
      if (hit && !hit.isDisposed) return hit;
      const t = tf.keep(make());
      if (!m) derived.set(src, (m = new Map()));
      m.set(key, t);
      return t;
    },
  };
  const activate = (): void => {
    if (tf.getBackend() === opts.tfBackend) return;
    // the backend is initialised, so the switch happens synchronously inside setBackend
    void tf.setBackend(opts.tfBackend);
    if (tf.getBackend() !== opts.tfBackend) throw new SdxsError('UNSUPPORTED', `tfjs could not switch to its '${opts.tfBackend}' backend`);
  };
  const bodies: TfKernels = { ...mathKernels(ctx), ...nnKernels(ctx), ...movementKernels(ctx) };
  const wrap = <K extends OpName>(op: K, body: TfKernel<K>): Kernel<K, T> => (inputs, attrs, out) => {
    activate();
    return tf.tidy(op, () => {
      if (sizeOf(out.shape) === 0) return tf.zeros([...out.shape], out.dtype);
      let r = body(inputs, attrs, out);
      if (r.dtype !== out.dtype) r = tf.cast(r, out.dtype);
      if (!shapesEqual(r.shape, out.shape)) {
        throw new SdxsError('SHAPE', `internal: tfjs kernel '${op}' gave shape [${r.shape}], expected [${out.shape}]`);
      }
      // a kernel must never hand back one of its inputs (two sdxs tensors would own one tf.Tensor)
      return inputs.some((i) => i?.handle === r) ? tf.clone(r) : r;
    });
  };
  const kernels = Object.fromEntries(OP_NAMES.map((op) => [op, wrap(op, bodies[op] as TfKernel<typeof op>)])) as unknown as KernelTable<T>;
  return {
    name: opts.name,
    kernels,
    upload(data, shape, dtype) {
      if (data.length !== sizeOf(shape)) throw new RangeError(`upload: ${data.length} values for shape [${shape.join(', ')}]`);
      activate();
      // tfjs-cpu keeps the array it is given: copy so later writes by the caller cannot reach the tensor
      return tf.tensor(data.slice(), [...shape], dtype);
    },
    async read(h) {
      const d = (await h.data()) as Float32Array | Int32Array;
      return opts.copyOnRead ? d.slice() : d;
    },
    ...(opts.syncRead
      ? {
          readSync: (h: T) => {
            const d = h.dataSync() as Float32Array | Int32Array;
            return opts.copyOnRead ? d.slice() : d;
          },
        }
      : {}),
    dispose(h) {
      const m = derived.get(h);
      if (m) {
        for (const t of m.values()) t.dispose();
        derived.delete(h);
      }
      h.dispose();
    },
    backendBytes: () => tf.memory().numBytes,
  };
}
