import type { BinaryFn, OpName, PadMode, ReduceFn, UnaryFn } from '@sdxs/core';
import * as C from '@sdxs/core';
import type { Tensor } from '@sdxs/core';

/** How a case's inputs are filled (seeded, identical on every backend). */
export type Gen = 'normal' | 'positive' | 'unit' | 'wide' | 'int' | 'smallint' | 'special' | 'mask01' | 'idx';
export interface InputSpec {
  shape: number[];
  dtype?: 'float32' | 'int32';
  gen?: Gen;
  /** for 'idx': indices in [0, range) */
  range?: number;
}
export interface Tolerance {
  atol: number;
  rtol: number;
}
/**
 * What a case hands the frontend op, per op. The case's `op` and `attrs` are all it says about what runs:
 * RUN turns them into the one frontend call, and the test checks that the op it names is the one dispatched.
 * Tensor inputs (a bias, a mask, norm weights) are present or absent in `inputs`, never flagged in `attrs`.
 */
export interface CaseAttrs {
  unary: { fn: UnaryFn };
  binary: { fn: BinaryFn };
  where: Record<string, never>;
  reduce: { fn: ReduceFn; axes: number[] | 'all' };
  cumsum: { axis: number; exclusive?: boolean; reverse?: boolean };
  softmax: { axis?: number };
  matmul: { transposeA?: boolean; transposeB?: boolean };
  /** `upsample`: the input goes through a nearest upsample first (the pattern ort-cpu lowers as sub-pixel convs); `addUpsampled`: the upsampled input is also added to the result (a second use) */
  conv2d: C.Conv2dOptions & { upsample?: number; addUpsampled?: boolean };
  /** `offset`: the input is x·0.5 + offset (a large mean beside a small spread) */
  groupNorm: { groups: number; eps: number; offset?: number };
  layerNorm: { eps: number };
  rmsNorm: { eps: number; unitOffset?: boolean };
  attention: { causal?: boolean; scale?: number };
  upsampleNearest: { size: number | [number, number] };
  pad: { pads: [number, number][]; mode?: PadMode; value?: number };
  concat: { axis: number };
  slice: { begin: number[]; size: number[] };
  gather: { axis: number };
  transpose: { perm?: number[] };
  reshape: { shape: number[] };
  cast: { dtype: 'float32' | 'int32' };
}
// CaseAttrs has exactly the op set's keys: a new op breaks the build until it says how its cases run
export const caseAttrsCoverOps: [Exclude<OpName, keyof CaseAttrs> | Exclude<keyof CaseAttrs, OpName>] extends [never] ? true : never = true;

interface CaseOf<K extends OpName> {
  /** readable id: op.variant[shapes] */
  id: string;
  op: K;
  inputs: InputSpec[];
  attrs: CaseAttrs[K];
  /** error bound against the cpu backend */
  tolerance: Tolerance;
  /** too big for WebGPU on SwiftShader (~50x slower than wasm) */
  large?: boolean;
}
/** One conformance case: readable id, the op it covers, its inputs, attributes and error bound vs cpu. */
export type OpCase = { [K in OpName]: CaseOf<K> }[OpName];

/** The one frontend call per op (exhaustive over the op set). */
const RUN: { [K in OpName]: (xs: Tensor[], a: CaseAttrs[K]) => Tensor } = {
  unary: ([x], a) => C.unary(a.fn, x!),
  binary: ([x, y], a) => C.binary(a.fn, x!, y!),
  where: ([c, x, y]) => C.where(c!, x!, y!),
  reduce: ([x], a) => C[a.fn](x!, a.axes === 'all' ? undefined : a.axes, true),
  cumsum: ([x], a) => C.cumsum(x!, a.axis, { exclusive: a.exclusive, reverse: a.reverse }),
  softmax: ([x], a) => C.softmax(x!, a.axis),
  matmul: ([x, y], a) => C.matmul(x!, y!, a.transposeA, a.transposeB),
  conv2d: ([x, w, b], { upsample, addUpsampled, ...a }) => {
    const u = upsample ? C.upsampleNearest2d(x!, upsample) : x!;
    const y = C.conv2d(u, w!, b ?? null, a);
    return addUpsampled ? C.add(y, u) : y;
  },
  groupNorm: ([x, w, b], a) => C.groupNorm(a.offset === undefined ? x! : C.add(C.mul(x!, 0.5), a.offset), a.groups, w ?? null, b ?? null, a.eps),
  layerNorm: ([x, w, b], a) => C.layerNorm(x!, w ?? null, b ?? null, a.eps),
  rmsNorm: ([x, w], a) => C.rmsNorm(x!, w ?? null, a.eps, a.unitOffset),
  attention: ([q, k, v, m], a) => C.scaledDotProductAttention(q!, k!, v!, { mask: m ?? null, causal: a.causal, scale: a.scale }),
  upsampleNearest: ([x], a) => C.upsampleNearest2d(x!, a.size),
  pad: ([x], a) => C.pad(x!, a.pads, a.mode, a.value),
  concat: (xs, a) => C.concat(xs, a.axis),
  slice: ([x], a) => C.slice(x!, a.begin, a.size),
  gather: ([x, i], a) => C.gather(x!, i!, a.axis),
  transpose: ([x], a) => C.transpose(x!, a.perm),
  reshape: ([x], a) => C.reshape(x!, a.shape),
  cast: ([x], a) => C.cast(x!, a.dtype),
};

/** Run a case's op on uploaded inputs. */
export function runOpCase(c: OpCase, xs: Tensor[]): Tensor {
  return (RUN[c.op] as (xs: Tensor[], a: OpCase['attrs']) => Tensor)(xs, c.attrs);
}

export const UNARY_FNS = [
  'neg', 'exp', 'log', 'sqrt', 'rsqrt', 'abs', 'sigmoid', 'silu', 'gelu', 'gelu_tanh',
  'softplus', 'tanh', 'sin', 'cos', 'square', 'reciprocal', 'relu', 'floor', 'sign', 'erf',
] as const satisfies readonly UnaryFn[];
export const BINARY_FNS = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const satisfies readonly BinaryFn[];
export const REDUCE_FNS = ['sum', 'mean', 'max', 'min'] as const satisfies readonly ReduceFn[];
// compile-time exhaustiveness: adding a function to the op set breaks the build until it gets cases
type Missing = Exclude<UnaryFn, (typeof UNARY_FNS)[number]> | Exclude<BinaryFn, (typeof BINARY_FNS)[number]> | Exclude<ReduceFn, (typeof REDUCE_FNS)[number]>;
export const exhaustive: [Missing] extends [never] ? true : never = true;

const EXACT: Tolerance = { atol: 0, rtol: 0 };
const ELEM: Tolerance = { atol: 1e-6, rtol: 1e-5 };
/** transcendental functions: tfjs and WGSL use their own approximations (erf ~1e-7 abs, exp/log ~ulps) */
const TRANS: Tolerance = { atol: 2e-6, rtol: 2e-5 };
/** dot products of length K <= ~600 in float32 with a different summation order */
const DOT: Tolerance = { atol: 5e-5, rtol: 1e-4 };
const NORM: Tolerance = { atol: 5e-5, rtol: 1e-4 };

const POSITIVE_ONLY = new Set<UnaryFn>(['log', 'sqrt', 'rsqrt']);
const INT_UNARY = ['neg', 'abs', 'square', 'relu', 'sign'] as const satisfies readonly UnaryFn[];

function unaryCases(): OpCase[] {
  const cases: OpCase[] = [];
  for (const fn of UNARY_FNS) {
    const gen: Gen = POSITIVE_ONLY.has(fn) ? 'positive' : 'normal';
    const tol = fn === 'floor' || fn === 'sign' || fn === 'neg' || fn === 'abs' || fn === 'relu' ? EXACT : TRANS;
    cases.push({ id: `unary.${fn}.odd[3,7,5]`, op: 'unary', inputs: [{ shape: [3, 7, 5], gen }], attrs: { fn }, tolerance: tol });
    // NaN/Inf agreement (PyTorch semantics: NaN propagates, exp(-inf)=0, log(0)=-inf, ...)
    cases.push({ id: `unary.${fn}.special[16]`, op: 'unary', inputs: [{ shape: [16], gen: 'special' }], attrs: { fn }, tolerance: tol });
  }
  cases.push({ id: 'unary.exp.empty[0,4]', op: 'unary', inputs: [{ shape: [0, 4] }], attrs: { fn: 'exp' }, tolerance: EXACT });
  cases.push({ id: 'unary.gelu.scalar[]', op: 'unary', inputs: [{ shape: [] }], attrs: { fn: 'gelu' }, tolerance: TRANS });
  cases.push({ id: 'unary.silu.wide[5,4099]', op: 'unary', inputs: [{ shape: [5, 4099], gen: 'unit' }], attrs: { fn: 'silu' }, tolerance: TRANS });
  for (const fn of INT_UNARY) {
    cases.push({ id: `unary.${fn}.int32[9]`, op: 'unary', inputs: [{ shape: [9], dtype: 'int32', gen: 'int' }], attrs: { fn }, tolerance: EXACT });
  }
  return cases;
}

function binaryCases(): OpCase[] {
  const cases: OpCase[] = [];
  const shapes: [string, number[], number[]][] = [
    ['same[4,5]', [4, 5], [4, 5]],
    ['bcast[2,1,5]x[3,1]', [2, 1, 5], [3, 1]],
    ['scalar[3,4]x[]', [3, 4], []],
    ['size1[1,6]x[7,1]', [1, 6], [7, 1]],
  ];
  for (const fn of BINARY_FNS) {
    const gen: Gen = fn === 'pow' ? 'positive' : fn === 'eq' || fn === 'ne' ? 'smallint' : 'normal';
    const tol = fn === 'pow' || fn === 'div' ? TRANS : EXACT;
    for (const [name, a, b] of shapes) {
      cases.push({ id: `binary.${fn}.${name}`, op: 'binary', inputs: [{ shape: a, gen }, { shape: b, gen: fn === 'pow' ? 'unit' : gen }], attrs: { fn }, tolerance: tol });
    }
    cases.push({ id: `binary.${fn}.special[16]`, op: 'binary', inputs: [{ shape: [16], gen: 'special' }, { shape: [16, 1], gen: 'special' }], attrs: { fn }, tolerance: tol });
    if (fn !== 'pow') {
      const ib: Gen = fn === 'div' ? 'positive' : 'int';
      cases.push({ id: `binary.${fn}.int32[3,5]x[5]`, op: 'binary', inputs: [{ shape: [3, 5], dtype: 'int32', gen: 'int' }, { shape: [5], dtype: 'int32', gen: ib }], attrs: { fn }, tolerance: EXACT });
    }
  }
  cases.push({ id: 'binary.add.empty[0,3]x[3]', op: 'binary', inputs: [{ shape: [0, 3] }, { shape: [3] }], attrs: { fn: 'add' }, tolerance: EXACT });
  cases.push({ id: 'binary.mul.rank5[2,1,3,1,4]x[3,5,1]', op: 'binary', inputs: [{ shape: [2, 1, 3, 1, 4] }, { shape: [3, 5, 1] }], attrs: { fn: 'mul' }, tolerance: EXACT });
  return cases;
}

function reduceCases(): OpCase[] {
  const cases: OpCase[] = [];
  for (const fn of REDUCE_FNS) {
    const tol = fn === 'max' || fn === 'min' ? EXACT : ELEM;
    cases.push({ id: `reduce.${fn}.last[4,5,7]`, op: 'reduce', inputs: [{ shape: [4, 5, 7] }], attrs: { fn, axes: [2] }, tolerance: tol });
    cases.push({ id: `reduce.${fn}.middle[4,5,7]`, op: 'reduce', inputs: [{ shape: [4, 5, 7] }], attrs: { fn, axes: [1] }, tolerance: tol });
    cases.push({ id: `reduce.${fn}.axes02[3,4,5]`, op: 'reduce', inputs: [{ shape: [3, 4, 5] }], attrs: { fn, axes: [0, 2] }, tolerance: tol });
    cases.push({ id: `reduce.${fn}.all[6,7]`, op: 'reduce', inputs: [{ shape: [6, 7] }], attrs: { fn, axes: 'all' }, tolerance: tol });
    cases.push({ id: `reduce.${fn}.int32[3,4]`, op: 'reduce', inputs: [{ shape: [3, 4], dtype: 'int32', gen: 'int' }], attrs: { fn, axes: [1] }, tolerance: fn === 'mean' ? ELEM : EXACT });
    cases.push({ id: `reduce.${fn}.emptyAxis[3,0]`, op: 'reduce', inputs: [{ shape: [3, 0] }], attrs: { fn, axes: [1] }, tolerance: EXACT });
    cases.push({ id: `reduce.${fn}.special[4,4]`, op: 'reduce', inputs: [{ shape: [4, 4], gen: 'special' }], attrs: { fn, axes: [1] }, tolerance: tol });
  }
  // 100k elements: float32 accumulation order differs (pairwise vs sequential); error ~ sqrt(n) ulps of the sum
  cases.push({ id: 'reduce.sum.large[100003]', op: 'reduce', inputs: [{ shape: [100003], gen: 'unit' }], attrs: { fn: 'sum', axes: [0] }, tolerance: { atol: 2e-2, rtol: 1e-4 } });
  cases.push({ id: 'reduce.mean.large[2,65536]', op: 'reduce', inputs: [{ shape: [2, 65536] }], attrs: { fn: 'mean', axes: [1] }, tolerance: { atol: 1e-6, rtol: 1e-4 } });
  cases.push({ id: 'reduce.max.large[100003]', op: 'reduce', inputs: [{ shape: [100003] }], attrs: { fn: 'max', axes: [0] }, tolerance: EXACT });
  return cases;
}

function shapeCases(): OpCase[] {
  return [
    { id: 'cumsum.axis1[3,6,2]', op: 'cumsum', inputs: [{ shape: [3, 6, 2] }], attrs: { axis: 1 }, tolerance: ELEM },
    { id: 'cumsum.exclusive[4,9]', op: 'cumsum', inputs: [{ shape: [4, 9] }], attrs: { axis: -1, exclusive: true }, tolerance: ELEM },
    { id: 'cumsum.reverse[4,9]', op: 'cumsum', inputs: [{ shape: [4, 9] }], attrs: { axis: -1, reverse: true }, tolerance: ELEM },
    { id: 'cumsum.exclusive.reverse.axis0[5,3]', op: 'cumsum', inputs: [{ shape: [5, 3] }], attrs: { axis: 0, exclusive: true, reverse: true }, tolerance: ELEM },
    { id: 'cumsum.int32[2,7]', op: 'cumsum', inputs: [{ shape: [2, 7], dtype: 'int32', gen: 'int' }], attrs: { axis: 1 }, tolerance: EXACT },
    { id: 'softmax.last[3,5,11]', op: 'softmax', inputs: [{ shape: [3, 5, 11] }], attrs: {}, tolerance: TRANS },
    { id: 'softmax.axis1[2,6,3]', op: 'softmax', inputs: [{ shape: [2, 6, 3] }], attrs: { axis: 1 }, tolerance: TRANS },
    { id: 'softmax.wide[2,5000]', op: 'softmax', inputs: [{ shape: [2, 5000] }], attrs: {}, tolerance: { atol: 1e-7, rtol: 1e-4 } },
    { id: 'softmax.size1[4,1]', op: 'softmax', inputs: [{ shape: [4, 1] }], attrs: {}, tolerance: TRANS },
    { id: 'where.bcast[2,3,1]x[3,4]x[]', op: 'where', inputs: [{ shape: [2, 3, 1], gen: 'mask01' }, { shape: [3, 4] }, { shape: [] }], attrs: {}, tolerance: EXACT },
    { id: 'where.int32[5]', op: 'where', inputs: [{ shape: [5], dtype: 'int32', gen: 'mask01' }, { shape: [5], dtype: 'int32', gen: 'int' }, { shape: [1], dtype: 'int32', gen: 'int' }], attrs: {}, tolerance: EXACT },
    { id: 'pad.constant[2,3,4]', op: 'pad', inputs: [{ shape: [2, 3, 4] }], attrs: { pads: [[1, 0], [0, 2], [3, 1]], value: 0.5 }, tolerance: EXACT },
    { id: 'pad.reflect[1,2,5,6]', op: 'pad', inputs: [{ shape: [1, 2, 5, 6] }], attrs: { pads: [[2, 1], [1, 3]], mode: 'reflect' }, tolerance: EXACT },
    { id: 'pad.int32[3,3]', op: 'pad', inputs: [{ shape: [3, 3], dtype: 'int32', gen: 'int' }], attrs: { pads: [[1, 1], [0, 1]], value: 7 }, tolerance: EXACT },
    { id: 'concat.axis1[2,3,4]+[2,1,4]+[2,0,4]', op: 'concat', inputs: [{ shape: [2, 3, 4] }, { shape: [2, 1, 4] }, { shape: [2, 0, 4] }], attrs: { axis: 1 }, tolerance: EXACT },
    { id: 'concat.last.int32[3,2]+[3,5]', op: 'concat', inputs: [{ shape: [3, 2], dtype: 'int32', gen: 'int' }, { shape: [3, 5], dtype: 'int32', gen: 'int' }], attrs: { axis: -1 }, tolerance: EXACT },
    { id: 'slice.[5,6,7]', op: 'slice', inputs: [{ shape: [5, 6, 7] }], attrs: { begin: [1, 0, 2], size: [3, -1, 4] }, tolerance: EXACT },
    { id: 'slice.empty[4,4]', op: 'slice', inputs: [{ shape: [4, 4] }], attrs: { begin: [2, 0], size: [0, 4] }, tolerance: EXACT },
    { id: 'gather.axis0[10,4]by[2,3]', op: 'gather', inputs: [{ shape: [10, 4] }, { shape: [2, 3], dtype: 'int32', gen: 'idx', range: 10 }], attrs: { axis: 0 }, tolerance: EXACT },
    { id: 'gather.axis1[3,8,2]by[5]', op: 'gather', inputs: [{ shape: [3, 8, 2] }, { shape: [5], dtype: 'int32', gen: 'idx', range: 8 }], attrs: { axis: 1 }, tolerance: EXACT },
    { id: 'gather.int32[6]by[4]', op: 'gather', inputs: [{ shape: [6], dtype: 'int32', gen: 'int' }, { shape: [4], dtype: 'int32', gen: 'idx', range: 6 }], attrs: { axis: 0 }, tolerance: EXACT },
    { id: 'transpose.[2,3,4,5]', op: 'transpose', inputs: [{ shape: [2, 3, 4, 5] }], attrs: { perm: [0, 2, 3, 1] }, tolerance: EXACT },
    // no perm: the default, reversed axes
    { id: 'transpose.int32.size1[1,5,1,3]', op: 'transpose', inputs: [{ shape: [1, 5, 1, 3], dtype: 'int32', gen: 'int' }], attrs: {}, tolerance: EXACT },
    { id: 'reshape.[4,6]->[2,-1,3]', op: 'reshape', inputs: [{ shape: [4, 6] }], attrs: { shape: [2, -1, 3] }, tolerance: EXACT },
    { id: 'reshape.empty[0,3]->[3,0]', op: 'reshape', inputs: [{ shape: [0, 3] }], attrs: { shape: [3, 0] }, tolerance: EXACT },
    // values in (-7.5, 7.5): truncation toward zero of both signs
    { id: 'cast.float->int32.trunc[16]', op: 'cast', inputs: [{ shape: [16], gen: 'wide' }], attrs: { dtype: 'int32' }, tolerance: EXACT },
    { id: 'cast.int32->float[9]', op: 'cast', inputs: [{ shape: [9], dtype: 'int32', gen: 'int' }], attrs: { dtype: 'float32' }, tolerance: EXACT },
    { id: 'upsampleNearest.2x[1,2,3,5]', op: 'upsampleNearest', inputs: [{ shape: [1, 2, 3, 5] }], attrs: { size: 2 }, tolerance: EXACT },
    { id: 'upsampleNearest.size[2,1,4,6]->[7,9]', op: 'upsampleNearest', inputs: [{ shape: [2, 1, 4, 6] }], attrs: { size: [7, 9] }, tolerance: EXACT },
    { id: 'upsampleNearest.down[1,1,9,8]->[4,3]', op: 'upsampleNearest', inputs: [{ shape: [1, 1, 9, 8] }], attrs: { size: [4, 3] }, tolerance: EXACT },
  ];
}

function linalgCases(): OpCase[] {
  const mm = (id: string, a: number[], b: number[], attrs: CaseAttrs['matmul'] = {}, tolerance = DOT): OpCase => ({
    id: `matmul.${id}`, op: 'matmul', inputs: [{ shape: a }, { shape: b }], attrs, tolerance,
  });
  // three inputs: x, weight, bias
  const cv = (id: string, x: number[], w: number[], attrs: C.Conv2dOptions, large = false): OpCase => ({
    id: `conv2d.${id}`, op: 'conv2d', inputs: [{ shape: x }, { shape: w }, { shape: [w[0]!] }], attrs, tolerance: DOT, large,
  });
  // a fourth input is the additive mask
  const att = (id: string, q: number[], kv: number[], attrs: CaseAttrs['attention'], mask?: number[]): OpCase => ({
    id: `attention.${id}`, op: 'attention', inputs: [{ shape: q }, { shape: kv }, { shape: kv }, ...(mask ? [{ shape: mask }] : [])], attrs, tolerance: DOT,
  });
  return [
    mm('[7,5]x[5,3]', [7, 5], [5, 3]),
    mm('tA[5,7]x[5,3]', [5, 7], [5, 3], { transposeA: true }),
    mm('tB[7,5]x[3,5]', [7, 5], [3, 5], { transposeB: true }),
    mm('tAtB[5,7]x[3,5]', [5, 7], [3, 5], { transposeA: true, transposeB: true }),
    mm('batch.bcast[2,1,4,6]x[3,6,5]', [2, 1, 4, 6], [3, 6, 5]),
    mm('rank2xbatch[4,6]x[3,6,2]', [4, 6], [3, 6, 2]),
    mm('vector[1,33]x[33,1]', [1, 33], [33, 1]),
    mm('emptyK[3,0]x[0,4]', [3, 0], [0, 4], {}, EXACT),
    mm('big[64,300]x[300,96]', [64, 300], [300, 96]),
    cv('3x3.pad1[1,3,8,8]', [1, 3, 8, 8], [4, 3, 3, 3], { padding: 1 }),
    cv('1x1[2,5,3,4]', [2, 5, 3, 4], [6, 5, 1, 1], {}),
    cv('stride2.pad1[1,4,9,7]', [1, 4, 9, 7], [5, 4, 3, 3], { stride: 2, padding: 1 }),
    cv('asym.pad[0,1,0,1].stride2[1,3,8,8]', [1, 3, 8, 8], [4, 3, 3, 3], { stride: 2, padding: [0, 1, 0, 1] }),
    cv('dilation2[1,2,9,9]', [1, 2, 9, 9], [3, 2, 3, 3], { dilation: 2, padding: 2 }),
    cv('stride2.dilation2[1,2,11,10]', [1, 2, 11, 10], [3, 2, 3, 3], { stride: 2, dilation: 2, padding: 1 }),
    cv('groups2[1,4,6,6]', [1, 4, 6, 6], [6, 2, 3, 3], { groups: 2, padding: 1 }),
    cv('depthwise[2,4,7,5]', [2, 4, 7, 5], [4, 1, 3, 3], { groups: 4, padding: [1, 1] }),
    cv('depthwise.mult2[1,3,6,6]', [1, 3, 6, 6], [6, 1, 3, 3], { groups: 3, padding: 1 }),
    cv('kernel1x4[1,2,5,9]', [1, 2, 5, 9], [3, 2, 1, 4], { padding: [0, 0, 3, 0] }),
    cv('odd.5x5[1,6,13,11]', [1, 6, 13, 11], [7, 6, 5, 5], { padding: 2, stride: [1, 2] }),
    cv('wide.3x3[1,32,24,24]', [1, 32, 24, 24], [32, 32, 3, 3], { padding: 1 }, true),
    // two inputs: no bias
    { id: 'conv2d.nobias[1,2,5,5]', op: 'conv2d', inputs: [{ shape: [1, 2, 5, 5] }, { shape: [3, 2, 3, 3] }], attrs: {}, tolerance: DOT },
    // nearest 2x upsample read only by a 3x3 conv: ort-cpu lowers the pair as four 2x2 convs + DepthToSpace
    { id: 'conv2d.afterUpsample2x[2,3,4,5]', op: 'conv2d', inputs: [{ shape: [2, 3, 4, 5] }, { shape: [4, 3, 3, 3] }, { shape: [4] }], attrs: { upsample: 2, padding: 1 }, tolerance: DOT },
    { id: 'conv2d.nobias.afterUpsample2x[1,16,6,6]', op: 'conv2d', inputs: [{ shape: [1, 16, 6, 6] }, { shape: [16, 16, 3, 3] }], attrs: { upsample: 2, padding: 1 }, tolerance: DOT },
    // the upsample has a second use: it is computed, and the conv reads it as usual
    { id: 'conv2d.afterUpsample2x.shared[1,2,3,3]', op: 'conv2d', inputs: [{ shape: [1, 2, 3, 3] }, { shape: [2, 2, 3, 3] }, { shape: [2] }], attrs: { upsample: 2, padding: 1, addUpsampled: true }, tolerance: DOT },
    att('plain[1,2,5,8]', [1, 2, 5, 8], [1, 2, 7, 8], {}),
    att('mask[2,2,4,8]', [2, 2, 4, 8], [2, 2, 6, 8], {}, [2, 1, 1, 6]),
    att('causal[1,3,6,4]', [1, 3, 6, 4], [1, 3, 6, 4], { causal: true }),
    att('causal.kvlonger[1,1,3,4]', [1, 1, 3, 4], [1, 1, 5, 4], { causal: true, scale: 0.3 }),
    att('mask.causal[1,2,5,8]', [1, 2, 5, 8], [1, 2, 5, 8], { causal: true }, [5, 5]),
    att('heads[1,4,64,16]', [1, 4, 64, 16], [1, 4, 64, 16], {}),
  ];
}

function normCases(): OpCase[] {
  // inputs after x: weight and bias (groupNorm, layerNorm) or weight (rmsNorm) when the case is affine
  return [
    { id: 'groupNorm.[2,6,4,5]g3', op: 'groupNorm', inputs: [{ shape: [2, 6, 4, 5] }, { shape: [6] }, { shape: [6] }], attrs: { groups: 3, eps: 1e-5 }, tolerance: NORM },
    { id: 'groupNorm.noaffine.[1,8,3,3]g8', op: 'groupNorm', inputs: [{ shape: [1, 8, 3, 3] }], attrs: { groups: 8, eps: 1e-6 }, tolerance: NORM },
    // a large mean beside a small spread (two-pass variance)
    { id: 'groupNorm.offset[1,8,6,6]g4', op: 'groupNorm', inputs: [{ shape: [1, 8, 6, 6] }, { shape: [8] }, { shape: [8] }], attrs: { groups: 4, eps: 1e-6, offset: 5 }, tolerance: NORM },
    { id: 'groupNorm.rank2[3,6]g3', op: 'groupNorm', inputs: [{ shape: [3, 6] }, { shape: [6] }, { shape: [6] }], attrs: { groups: 3, eps: 1e-5 }, tolerance: NORM },
    { id: 'groupNorm.rank3[2,4,10]g2', op: 'groupNorm', inputs: [{ shape: [2, 4, 10] }, { shape: [4] }, { shape: [4] }], attrs: { groups: 2, eps: 1e-5 }, tolerance: NORM },
    { id: 'groupNorm.large[1,64,32,32]g32', op: 'groupNorm', inputs: [{ shape: [1, 64, 32, 32] }, { shape: [64] }, { shape: [64] }], attrs: { groups: 32, eps: 1e-6 }, tolerance: NORM, large: true },
    { id: 'layerNorm.[3,4,10]', op: 'layerNorm', inputs: [{ shape: [3, 4, 10] }, { shape: [10] }, { shape: [10] }], attrs: { eps: 1e-5 }, tolerance: NORM },
    { id: 'layerNorm.noaffine[5,17]', op: 'layerNorm', inputs: [{ shape: [5, 17] }], attrs: { eps: 1e-5 }, tolerance: NORM },
    { id: 'rmsNorm.[4,12]', op: 'rmsNorm', inputs: [{ shape: [4, 12] }, { shape: [12] }], attrs: { eps: 1e-6 }, tolerance: NORM },
    { id: 'rmsNorm.unitOffset[2,3,8]', op: 'rmsNorm', inputs: [{ shape: [2, 3, 8] }, { shape: [8] }], attrs: { eps: 1e-6, unitOffset: true }, tolerance: NORM },
    { id: 'rmsNorm.noweight[3,7]', op: 'rmsNorm', inputs: [{ shape: [3, 7] }], attrs: { eps: 1e-6 }, tolerance: NORM },
  ];
}

export const CASES: readonly OpCase[] = [...unaryCases(), ...binaryCases(), ...reduceCases(), ...shapeCases(), ...linalgCases(), ...normCases()];
