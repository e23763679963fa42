import type { Backend, KernelInput, KernelTable } from '../../backend.js';
import { sizeOf } from '../../shape.js';
import { attentionKernel } from './attention.js';
import { conv2dKernel, upsampleNearestKernel } from './conv.js';
import { alloc, type Arr, binaryKernel, unaryKernel, whereKernel } from './elementwise.js';
import { matmulKernel } from './matmul.js';
import { castKernel, concatKernel, gatherKernel, padKernel, sliceKernel, transposeKernel } from './movement.js';
import { groupNormKernel, layerNormKernel, rmsNormKernel } from './norm.js';
import { cumsumKernel, reduceKernel, softmaxRows } from './reduce.js';

type I = KernelInput<Arr>;
type F = KernelInput<Float32Array>;
const f = (x: I | null | undefined): F => x as F;
const fo = (x: I | null | undefined): F | null => x as F | null;

/** The reference kernels: plain TypeScript, no dependencies, float64 accumulation where it matters. */
export const cpuKernels: KernelTable<Arr> = {
  unary: ([x], { fn }, out) => unaryKernel(x!, fn, out),
  binary: ([a, b], { fn }, out) => binaryKernel(a!, b!, fn, out),
  where: ([c, a, b], _, out) => whereKernel(c!, a!, b!, out),
  reduce: ([x], { fn, axes }, out) => reduceKernel(x!, fn, axes, out),
  cumsum: ([x], { axis, exclusive, reverse }, out) => cumsumKernel(x!, axis, exclusive, reverse, out),
  softmax: ([x], _, out) => {
    const r = alloc(out) as Float32Array;
    const n = x!.shape[x!.shape.length - 1]!;
    softmaxRows(f(x).handle, r, n === 0 ? 0 : r.length / n, n);
    return r;
  },
  matmul: ([a, b], { transposeA, transposeB }, out) => matmulKernel(f(a), f(b), transposeA, transposeB, out),
  conv2d: ([x, w, b], attrs, out) => conv2dKernel(f(x), f(w), fo(b), attrs, out),
  groupNorm: ([x, w, b], { groups, eps }) => groupNormKernel(f(x), fo(w), fo(b), groups, eps),
  layerNorm: ([x, w, b], { eps }) => layerNormKernel(f(x), fo(w), fo(b), eps),
  rmsNorm: ([x, w], { eps, unitOffset }) => rmsNormKernel(f(x), fo(w), eps, unitOffset),
  attention: ([q, k, v, m], { scale, causal }, out) => attentionKernel(f(q), f(k), f(v), fo(m), scale, causal, out),
  upsampleNearest: ([x], { size }, out) => upsampleNearestKernel(f(x), size, out),
  pad: ([x], attrs, out) => padKernel(x!, attrs, out),
  concat: (xs, { axis }, out) => concatKernel(xs as I[], axis, out),
  slice: ([x], { begin }, out) => sliceKernel(x!, begin, out),
  gather: ([x, i], { axis }, out) => gatherKernel(x!, i as KernelInput<Int32Array>, axis, out),
  transpose: ([x], { perm }, out) => transposeKernel(x!, perm, out),
  reshape: ([x], _, out) => (x!.dtype === out.dtype ? x!.handle : castKernel(x!, out)),
  cast: ([x], _, out) => castKernel(x!, out),
};

export function createCpuBackend(): Backend<Arr> {
  return {
    name: 'cpu',
    kernels: cpuKernels,
    upload: (data, shape) => {
      if (data.length !== sizeOf(shape)) throw new RangeError(`upload: ${data.length} values for shape [${shape.join(', ')}]`);
      return data.slice();
    },
    read: async (h) => h.slice(),
    readSync: (h) => h.slice(),
    dispose: () => {},
  };
}
