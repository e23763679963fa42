import * as C from '@sdxs/core';
import type { OpName, Tensor } from '@sdxs/core';
import { UNARY_FNS } from './conformance-cases.js';

export interface GradInput {
  shape: number[];
  /** 'positive' keeps log/sqrt/pow away from their poles; 'normal' otherwise */
  gen?: 'normal' | 'positive';
  /** not differentiated (masks, constants) */
  constant?: boolean;
}
/** One VJP check: fn of float32 inputs; gradients of sum(fn(x) * r) checked against central differences. */
export interface GradCase {
  id: string;
  op: OpName;
  inputs: GradInput[];
  fn: (...xs: Tensor[]) => Tensor;
}

const NOT_DIFFERENTIABLE = new Set(['floor', 'sign']);
const POSITIVE = new Set(['log', 'sqrt', 'rsqrt', 'reciprocal']);

const unary = (): GradCase[] =>
  UNARY_FNS.filter((f) => !NOT_DIFFERENTIABLE.has(f)).map((fn) => ({
    id: `unary.${fn}`, op: 'unary', inputs: [{ shape: [3, 4], gen: POSITIVE.has(fn) ? 'positive' : 'normal' }], fn: (x) => C.unary(fn, x),
  }));

const binary = (): GradCase[] => {
  const cases: GradCase[] = [];
  for (const fn of ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum'] as const) {
    const gen = fn === 'pow' || fn === 'div' ? 'positive' : 'normal';
    cases.push({ id: `binary.${fn}.same`, op: 'binary', inputs: [{ shape: [2, 3], gen }, { shape: [2, 3], gen }], fn: (a, b) => C.binary(fn, a, b) });
    cases.push({ id: `binary.${fn}.bcast`, op: 'binary', inputs: [{ shape: [2, 1, 3], gen }, { shape: [4, 1], gen }], fn: (a, b) => C.binary(fn, a, b) });
  }
  return cases;
};

export const GRAD_CASES: readonly GradCase[] = [
  ...unary(),
  ...binary(),
  { id: 'where.bcast', op: 'where', inputs: [{ shape: [2, 3], constant: true }, { shape: [2, 3] }, { shape: [3] }], fn: (c, a, b) => C.where(C.greater(c, 0), a, b) },
  { id: 'reduce.sum.axes', op: 'reduce', inputs: [{ shape: [2, 3, 4] }], fn: (x) => C.sum(x, [0, 2]) },
  { id: 'reduce.mean.keep', op: 'reduce', inputs: [{ shape: [3, 5] }], fn: (x) => C.mean(x, 1, true) },
  { id: 'reduce.max', op: 'reduce', inputs: [{ shape: [3, 5] }], fn: (x) => C.max(x, 1) },
  { id: 'reduce.min.all', op: 'reduce', inputs: [{ shape: [4, 3] }], fn: (x) => C.min(x) },
  { id: 'cumsum', op: 'cumsum', inputs: [{ shape: [3, 4] }], fn: (x) => C.cumsum(x, 1) },
  { id: 'cumsum.exclusive.reverse.axis0', op: 'cumsum', inputs: [{ shape: [4, 3] }], fn: (x) => C.cumsum(x, 0, { exclusive: true, reverse: true }) },
  { id: 'softmax.last', op: 'softmax', inputs: [{ shape: [3, 5] }], fn: (x) => C.softmax(x) },
  { id: 'softmax.axis0', op: 'softmax', inputs: [{ shape: [4, 3] }], fn: (x) => C.softmax(x, 0) },
  { id: 'matmul', op: 'matmul', inputs: [{ shape: [3, 4] }, { shape: [4, 2] }], fn: (a, b) => C.matmul(a, b) },
  { id: 'matmul.tA', op: 'matmul', inputs: [{ shape: [4, 3] }, { shape: [4, 2] }], fn: (a, b) => C.matmul(a, b, true, false) },
  { id: 'matmul.tB', op: 'matmul', inputs: [{ shape: [3, 4] }, { shape: [2, 4] }], fn: (a, b) => C.matmul(a, b, false, true) },
  { id: 'matmul.tAtB', op: 'matmul', inputs: [{ shape: [4, 3] }, { shape: [2, 4] }], fn: (a, b) => C.matmul(a, b, true, true) },
  { id: 'matmul.batch.bcast', op: 'matmul', inputs: [{ shape: [2, 1, 2, 3] }, { shape: [3, 3, 2] }], fn: (a, b) => C.matmul(a, b) },
  { id: 'conv2d.pad1', op: 'conv2d', inputs: [{ shape: [1, 2, 5, 5] }, { shape: [3, 2, 3, 3] }, { shape: [3] }], fn: (x, w, b) => C.conv2d(x, w, b, { padding: 1 }) },
  { id: 'conv2d.stride2.asym', op: 'conv2d', inputs: [{ shape: [2, 2, 6, 5] }, { shape: [2, 2, 3, 3] }, { shape: [2] }], fn: (x, w, b) => C.conv2d(x, w, b, { stride: 2, padding: [0, 1, 1, 0] }) },
  { id: 'conv2d.stride2.pad1.odd', op: 'conv2d', inputs: [{ shape: [1, 1, 7, 7] }, { shape: [2, 1, 3, 3] }, { shape: [2] }], fn: (x, w, b) => C.conv2d(x, w, b, { stride: 2, padding: 1 }) },
  { id: 'conv2d.dilation2', op: 'conv2d', inputs: [{ shape: [1, 2, 7, 6] }, { shape: [2, 2, 3, 2] }], fn: (x, w) => C.conv2d(x, w, null, { dilation: 2, padding: 1 }) },
  { id: 'conv2d.groups2', op: 'conv2d', inputs: [{ shape: [1, 4, 4, 4] }, { shape: [4, 2, 3, 3] }, { shape: [4] }], fn: (x, w, b) => C.conv2d(x, w, b, { groups: 2, padding: 1 }) },
  { id: 'conv2d.depthwise', op: 'conv2d', inputs: [{ shape: [1, 3, 5, 5] }, { shape: [3, 1, 3, 3] }], fn: (x, w) => C.conv2d(x, w, null, { groups: 3, padding: 1 }) },
  { id: 'groupNorm', op: 'groupNorm', inputs: [{ shape: [2, 4, 3, 2] }, { shape: [4] }, { shape: [4] }], fn: (x, w, b) => C.groupNorm(x, 2, w, b, 1e-5) },
  { id: 'layerNorm', op: 'layerNorm', inputs: [{ shape: [3, 6] }, { shape: [6] }, { shape: [6] }], fn: (x, w, b) => C.layerNorm(x, w, b, 1e-5) },
  { id: 'rmsNorm', op: 'rmsNorm', inputs: [{ shape: [3, 6] }, { shape: [6] }], fn: (x, w) => C.rmsNorm(x, w, 1e-6) },
  { id: 'rmsNorm.unitOffset', op: 'rmsNorm', inputs: [{ shape: [2, 5] }, { shape: [5] }], fn: (x, w) => C.rmsNorm(x, w, 1e-6, true) },
  { id: 'attention', op: 'attention', inputs: [{ shape: [1, 2, 3, 4] }, { shape: [1, 2, 5, 4] }, { shape: [1, 2, 5, 3] }], fn: (q, k, v) => C.scaledDotProductAttention(q, k, v) },
  {
    id: 'attention.mask.causal', op: 'attention', inputs: [{ shape: [1, 1, 4, 3] }, { shape: [1, 1, 4, 3] }, { shape: [1, 1, 4, 2] }, { shape: [4, 4], constant: true }],
    fn: (q, k, v, m) => C.scaledDotProductAttention(q, k, v, { mask: m, causal: true }),
  },
  { id: 'upsampleNearest.2x', op: 'upsampleNearest', inputs: [{ shape: [1, 2, 2, 3] }], fn: (x) => C.upsampleNearest2d(x, 2) },
  { id: 'upsampleNearest.size', op: 'upsampleNearest', inputs: [{ shape: [1, 1, 3, 4] }], fn: (x) => C.upsampleNearest2d(x, [5, 7]) },
  { id: 'pad.constant', op: 'pad', inputs: [{ shape: [2, 3] }], fn: (x) => C.pad(x, [[1, 0], [2, 1]], 'constant', 0.5) },
  { id: 'concat', op: 'concat', inputs: [{ shape: [2, 2] }, { shape: [2, 3] }], fn: (a, b) => C.concat([a, b], 1) },
  { id: 'slice', op: 'slice', inputs: [{ shape: [4, 5] }], fn: (x) => C.slice(x, [1, 2], [2, -1]) },
  { id: 'gather.repeated', op: 'gather', inputs: [{ shape: [4, 3] }], fn: (x) => C.gather(x, C.tensor(Int32Array.of(2, 0, 2, 3), [2, 2]), 0) },
  { id: 'gather.axis1', op: 'gather', inputs: [{ shape: [2, 4, 2] }], fn: (x) => C.gather(x, C.tensor(Int32Array.of(3, 3, 1), [3]), 1) },
  { id: 'transpose', op: 'transpose', inputs: [{ shape: [2, 3, 4] }], fn: (x) => C.transpose(x, [2, 0, 1]) },
  { id: 'reshape', op: 'reshape', inputs: [{ shape: [2, 6] }], fn: (x) => C.reshape(x, [3, 4]) },
  { id: 'cast.float32', op: 'cast', inputs: [{ shape: [5] }], fn: (x) => C.mul(C.cast(x, 'float32'), 2) },
];
