import type { BinaryFn, OpName, ReduceFn, UnaryFn } from '@sdxs/core';
import * as C from '@sdxs/core';
import type { Tensor } from '@sdxs/core';

/** How a case's inputs are filled (seeded, identical on every backend). */
export type Gen = 'normal' | 'positive' | 'unit' | 'int' | 'smallint' | 'special' | 'mask01' | 'idx';
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
/** One conformance case: readable id, the op it covers, its inputs, attributes and error bound vs cpu. */
export interface OpCase {
  id: string;
  op: OpName;
  inputs: InputSpec[];
  attrs?: Record<string, unknown>;
  run: (xs: Tensor[]) => Tensor;
  tolerance: Tolerance;
  /** too big for WebGPU on SwiftShader (~50x slower than wasm) */
  large?: boolean;
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
const unaryOp = (fn: UnaryFn) => ([x]: Tensor[]): Tensor => C.unary(fn, x!);
const binaryOp = (fn: BinaryFn) => ([a, b]: Tensor[]): Tensor => C.binary(fn, a!, b!);

function unaryCases(): OpCase[] {
  const cases: OpCase[] = [];
  for (const fn of UNARY_FNS) {
    const gen: Gen = POSITIVE_ONLY.has(fn) ? 'positive' : 'normal';
    const tol = fn === 'floor' || fn === 'sign' || fn === 'neg' || fn === 'abs' || fn === 'relu' ? EXACT : TRANS;
    cases.push({ id: `unary.${fn}.odd[3,7,5]`, op: 'unary', inputs: [{ shape: [3, 7, 5], gen }], attrs: { fn }, run: unaryOp(fn), tolerance: tol });
    // NaN/Inf agreement (PyTorch semantics: NaN propagates, exp(-inf)=0, log(0)=-inf, ...)
    cases.push({ id: `unary.${fn}.special[16]`, op: 'unary', inputs: [{ shape: [16], gen: 'special' }], attrs: { fn }, run: unaryOp(fn), tolerance: tol });
  }
  cases.push({ id: 'unary.exp.empty[0,4]', op: 'unary', inputs: [{ shape: [0, 4] }], attrs: { fn: 'exp' }, run: unaryOp('exp'), tolerance: EXACT });
  cases.push({ id: 'unary.gelu.scalar[]', op: 'unary', inputs: [{ shape: [] }], attrs: { fn: 'gelu' }, run: unaryOp('gelu'), tolerance: TRANS });
  cases.push({ id: 'unary.silu.wide[5,4099]', op: 'unary', inputs: [{ shape: [5, 4099], gen: 'unit' }], attrs: { fn: 'silu' }, run: unaryOp('silu'), tolerance: TRANS });
  for (const fn of INT_UNARY) {
    cases.push({ id: `unary.${fn}.int32[9]`, op: 'unary', inputs: [{ shape: [9], dtype: 'int32', gen: 'int' }], attrs: { fn }, run: unaryOp(fn), tolerance: EXACT });
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
      cases.push({ id: `binary.${fn}.${name}`, op: 'binary', inputs: [{ shape: a, gen }, { shape: b, gen: fn === 'pow' ? 'unit' : gen }], attrs: { fn }, run: binaryOp(fn), tolerance: tol });
    }
    cases.push({ id: `binary.${fn}.special[16]`, op: 'binary', inputs: [{ shape: [16], gen: 'special' }, { shape: [16, 1], gen: 'special' }], attrs: { fn }, run: binaryOp(fn), tolerance: tol });
    if (fn !== 'pow') {
      const ib: Gen = fn === 'div' ? 'positive' : 'int';
      cases.push({ id: `binary.${fn}.int32[3,5]x[5]`, op: 'binary', inputs: [{ shape: [3, 5], dtype: 'int32', gen: 'int' }, { shape: [5], dtype: 'int32', gen: ib }], attrs: { fn }, run: binaryOp(fn), tolerance: EXACT });
    }
  }
  cases.push({ id: 'binary.add.empty[0,3]x[3]', op: 'binary', inputs: [{ shape: [0, 3] }, { shape: [3] }], attrs: { fn: 'add' }, run: binaryOp('add'), tolerance: EXACT });
  cases.push({ id: 'binary.mul.rank5[2,1,3,1,4]x[3,5,1]', op: 'binary', inputs: [{ shape: [2, 1, 3, 1, 4] }, { shape: [3, 5, 1] }], attrs: { fn: 'mul' }, run: binaryOp('mul'), tolerance: EXACT });
  return cases;
}

function reduceCases(): OpCase[] {
  const cases: OpCase[] = [];
  const red = (fn: ReduceFn, axes: number[] | undefined) => ([x]: Tensor[]): Tensor => C[fn](x!, axes, true);
  for (const fn of REDUCE_FNS) {
    const tol = fn === 'max' || fn === 'min' ? EXACT : ELEM;
    cases.push({ id: `reduce.${fn}.last[4,5,7]`, op: 'reduce', inputs: [{ shape: [4, 5, 7] }], attrs: { fn, axes: [2] }, run: red(fn, [2]), tolerance: tol });
    cases.push({ id: `reduce.${fn}.middle[4,5,7]`, op: 'reduce', inputs: [{ shape: [4, 5, 7] }], attrs: { fn, axes: [1] }, run: red(fn, [1]), tolerance: tol });
    cases.push({ id: `reduce.${fn}.axes02[3,4,5]`, op: 'reduce', inputs: [{ shape: [3, 4, 5] }], attrs: { fn, axes: [0, 2] }, run: red(fn, [0, 2]), tolerance: tol });
    cases.push({ id: `reduce.${fn}.all[6,7]`, op: 'reduce', inputs: [{ shape: [6, 7] }], attrs: { fn, axes: 'all' }, run: red(fn, undefined), tolerance: tol });
    cases.push({ id: `reduce.${fn}.int32[3,4]`, op: 'reduce', inputs: [{ shape: [3, 4], dtype: 'int32', gen: 'int' }], attrs: { fn, axes: [1] }, run: red(fn, [1]), tolerance: fn === 'mean' ? ELEM : EXACT });
    cases.push({ id: `reduce.${fn}.emptyAxis[3,0]`, op: 'reduce', inputs: [{ shape: [3, 0] }], attrs: { fn, axes: [1] }, run: red(fn, [1]), tolerance: EXACT });
    cases.push({ id: `reduce.${fn}.special[4,4]`, op: 'reduce', inputs: [{ shape: [4, 4], gen: 'special' }], attrs: { fn, axes: [1] }, run: red(fn, [1]), tolerance: tol });
  }
  // 100k elements: float32 accumulation order differs (pairwise vs sequential); error ~ sqrt(n) ulps of the sum
  cases.push({ id: 'reduce.sum.large[100003]', op: 'reduce', inputs: [{ shape: [100003], gen: 'unit' }], attrs: { fn: 'sum', axes: [0] }, run: red('sum', [0]), tolerance: { atol: 2e-2, rtol: 1e-4 } });
  cases.push({ id: 'reduce.mean.large[2,65536]', op: 'reduce', inputs: [{ shape: [2, 65536] }], attrs: { fn: 'mean', axes: [1] }, run: red('mean', [1]), tolerance: { atol: 1e-6, rtol: 1e-4 } });
  cases.push({ id: 'reduce.max.large[100003]', op: 'reduce', inputs: [{ shape: [100003] }], attrs: { fn: 'max', axes: [0] }, run: red('max', [0]), tolerance: EXACT });
  return cases;
}

function shapeCases(): OpCase[] {
  const id = (xs: Tensor[]) => xs;
  void id;
  return [
    { id: 'cumsum.axis1[3,6,2]', op: 'cumsum', inputs: [{ shape: [3, 6, 2] }], attrs: { axis: 1 }, run: ([x]) => C.cumsum(x!, 1), tolerance: ELEM },
    { id: 'cumsum.exclusive[4,9]', op: 'cumsum', inputs: [{ shape: [4, 9] }], attrs: { exclusive: true }, run: ([x]) => C.cumsum(x!, -1, { exclusive: true }), tolerance: ELEM },
    { id: 'cumsum.reverse[4,9]', op: 'cumsum', inputs: [{ shape: [4, 9] }], attrs: { reverse: true }, run: ([x]) => C.cumsum(x!, -1, { reverse: true }), tolerance: ELEM },
    { id: 'cumsum.exclusive.reverse.axis0[5,3]', op: 'cumsum', inputs: [{ shape: [5, 3] }], attrs: { axis: 0, exclusive: true, reverse: true }, run: ([x]) => C.cumsum(x!, 0, { exclusive: true, reverse: true }), tolerance: ELEM },
    { id: 'cumsum.int32[2,7]', op: 'cumsum', inputs: [{ shape: [2, 7], dtype: 'int32', gen: 'int' }], attrs: { axis: 1 }, run: ([x]) => C.cumsum(x!, 1), tolerance: EXACT },
    { id: 'softmax.last[3,5,11]', op: 'softmax', inputs: [{ shape: [3, 5, 11] }], run: ([x]) => C.softmax(x!), tolerance: TRANS },
    { id: 'softmax.axis1[2,6,3]', op: 'softmax', inputs: [{ shape: [2, 6, 3] }], run: ([x]) => C.softmax(x!, 1), tolerance: TRANS },
    { id: 'softmax.wide[2,5000]', op: 'softmax', inputs: [{ shape: [2, 5000] }], run: ([x]) => C.softmax(x!), tolerance: { atol: 1e-7, rtol: 1e-4 } },
    { id: 'softmax.size1[4,1]', op: 'softmax', inputs: [{ shape: [4, 1] }], run: ([x]) => C.softmax(x!), tolerance: TRANS },
    { id: 'where.bcast[2,3,1]x[3,4]x[]', op: 'where', inputs: [{ shape: [2, 3, 1], gen: 'mask01' }, { shape: [3, 4] }, { shape: [] }], run: ([c, a, b]) => C.where(c!, a!, b!), tolerance: EXACT },
    { id: 'where.int32[5]', op: 'where', inputs: [{ shape: [5], dtype: 'int32', gen: 'mask01' }, { shape: [5], dtype: 'int32', gen: 'int' }, { shape: [1], dtype: 'int32', gen: 'int' }], run: ([c, a, b]) => C.where(c!, a!, b!), tolerance: EXACT },
    { id: 'pad.constant[2,3,4]', op: 'pad', inputs: [{ shape: [2, 3, 4] }], attrs: { pads: [[1, 0], [0, 2], [3, 1]], value: 0.5 }, run: ([x]) => C.pad(x!, [[1, 0], [0, 2], [3, 1]], 'constant', 0.5), tolerance: EXACT },
    { id: 'pad.reflect[1,2,5,6]', op: 'pad', inputs: [{ shape: [1, 2, 5, 6] }], attrs: { pads: [[2, 1], [1, 3]], mode: 'reflect' }, run: ([x]) => C.pad(x!, [[2, 1], [1, 3]], 'reflect'), tolerance: EXACT },
    { id: 'pad.int32[3,3]', op: 'pad', inputs: [{ shape: [3, 3], dtype: 'int32', gen: 'int' }], attrs: { pads: [[1, 1], [0, 1]], value: 7 }, run: ([x]) => C.pad(x!, [[1, 1], [0, 1]], 'constant', 7), tolerance: EXACT },
    { id: 'concat.axis1[2,3,4]+[2,1,4]+[2,0,4]', op: 'concat', inputs: [{ shape: [2, 3, 4] }, { shape: [2, 1, 4] }, { shape: [2, 0, 4] }], attrs: { axis: 1 }, run: (xs) => C.concat(xs, 1), tolerance: EXACT },
    { id: 'concat.last.int32[3,2]+[3,5]', op: 'concat', inputs: [{ shape: [3, 2], dtype: 'int32', gen: 'int' }, { shape: [3, 5], dtype: 'int32', gen: 'int' }], attrs: { axis: 1 }, run: (xs) => C.concat(xs, -1), tolerance: EXACT },
    { id: 'slice.[5,6,7]', op: 'slice', inputs: [{ shape: [5, 6, 7] }], attrs: { begin: [1, 0, 2], size: [3, -1, 4] }, run: ([x]) => C.slice(x!, [1, 0, 2], [3, -1, 4]), tolerance: EXACT },
    { id: 'slice.empty[4,4]', op: 'slice', inputs: [{ shape: [4, 4] }], attrs: { begin: [2, 0], size: [0, 4] }, run: ([x]) => C.slice(x!, [2, 0], [0, 4]), tolerance: EXACT },
    { id: 'gather.axis0[10,4]by[2,3]', op: 'gather', inputs: [{ shape: [10, 4] }, { shape: [2, 3], dtype: 'int32', gen: 'idx', range: 10 }], attrs: { axis: 0 }, run: ([x, i]) => C.gather(x!, i!, 0), tolerance: EXACT },
    { id: 'gather.axis1[3,8,2]by[5]', op: 'gather', inputs: [{ shape: [3, 8, 2] }, { shape: [5], dtype: 'int32', gen: 'idx', range: 8 }], attrs: { axis: 1 }, run: ([x, i]) => C.gather(x!, i!, 1), tolerance: EXACT },
    { id: 'gather.int32[6]by[4]', op: 'gather', inputs: [{ shape: [6], dtype: 'int32', gen: 'int' }, { shape: [4], dtype: 'int32', gen: 'idx', range: 6 }], attrs: { axis: 0 }, run: ([x, i]) => C.gather(x!, i!, 0), tolerance: EXACT },
    { id: 'transpose.[2,3,4,5]', op: 'transpose', inputs: [{ shape: [2, 3, 4, 5] }], attrs: { perm: [0, 2, 3, 1] }, run: ([x]) => C.transpose(x!, [0, 2, 3, 1]), tolerance: EXACT },
    { id: 'transpose.int32.size1[1,5,1,3]', op: 'transpose', inputs: [{ shape: [1, 5, 1, 3], dtype: 'int32', gen: 'int' }], attrs: { perm: [3, 2, 1, 0] }, run: ([x]) => C.transpose(x!), tolerance: EXACT },
    { id: 'reshape.[4,6]->[2,-1,3]', op: 'reshape', inputs: [{ shape: [4, 6] }], attrs: { shape: [2, -1, 3] }, run: ([x]) => C.reshape(x!, [2, -1, 3]), tolerance: EXACT },
    { id: 'reshape.empty[0,3]->[3,0]', op: 'reshape', inputs: [{ shape: [0, 3] }], attrs: { shape: [3, 0] }, run: ([x]) => C.reshape(x!, [3, 0]), tolerance: EXACT },
    { id: 'cast.float->int32.trunc[16]', op: 'cast', inputs: [{ shape: [16], gen: 'unit' }], attrs: { dtype: 'int32' }, run: ([x]) => C.cast(C.mul(x!, 7.5), 'int32'), tolerance: EXACT },
    { id: 'cast.int32->float[9]', op: 'cast', inputs: [{ shape: [9], dtype: 'int32', gen: 'int' }], attrs: { dtype: 'float32' }, run: ([x]) => C.cast(x!, 'float32'), tolerance: EXACT },
    { id: 'upsampleNearest.2x[1,2,3,5]', op: 'upsampleNearest', inputs: [{ shape: [1, 2, 3, 5] }], attrs: { scale: 2 }, run: ([x]) => C.upsampleNearest2d(x!, 2), tolerance: EXACT },
    { id: 'upsampleNearest.size[2,1,4,6]->[7,9]', op: 'upsampleNearest', inputs: [{ shape: [2, 1, 4, 6] }], attrs: { size: [7, 9] }, run: ([x]) => C.upsampleNearest2d(x!, [7, 9]), tolerance: EXACT },
    { id: 'upsampleNearest.down[1,1,9,8]->[4,3]', op: 'upsampleNearest', inputs: [{ shape: [1, 1, 9, 8] }], attrs: { size: [4, 3] }, run: ([x]) => C.upsampleNearest2d(x!, [4, 3]), tolerance: EXACT },
  ];
}

function linalgCases(): OpCase[] {
  const mm = (tA: boolean, tB: boolean) => ([a, b]: Tensor[]): Tensor => C.matmul(a!, b!, tA, tB);
  const conv = (o: C.Conv2dOptions, bias = true) => ([x, w, b]: Tensor[]): Tensor => C.conv2d(x!, w!, bias ? b! : null, o);
  const cv = (id: string, x: number[], w: number[], o: C.Conv2dOptions, large = false): OpCase => ({
    id: `conv2d.${id}`, op: 'conv2d', inputs: [{ shape: x }, { shape: w }, { shape: [w[0]!] }], attrs: { ...o }, run: conv(o), tolerance: DOT, large,
  });
  const att = (id: string, q: number[], kv: number[], o: { mask?: number[]; causal?: boolean; scale?: number }): OpCase => ({
    id: `attention.${id}`,
    op: 'attention',
    inputs: [{ shape: q }, { shape: kv }, { shape: kv }, ...(o.mask ? [{ shape: o.mask }] : [])],
    attrs: { ...o },
    run: ([q1, k1, v1, m]) => C.scaledDotProductAttention(q1!, k1!, v1!, { mask: m ?? null, causal: o.causal, scale: o.scale }),
    tolerance: DOT,
  });
  return [
    { id: 'matmul.[7,5]x[5,3]', op: 'matmul', inputs: [{ shape: [7, 5] }, { shape: [5, 3] }], run: mm(false, false), tolerance: DOT },
    { id: 'matmul.tA[5,7]x[5,3]', op: 'matmul', inputs: [{ shape: [5, 7] }, { shape: [5, 3] }], attrs: { transposeA: true }, run: mm(true, false), tolerance: DOT },
    { id: 'matmul.tB[7,5]x[3,5]', op: 'matmul', inputs: [{ shape: [7, 5] }, { shape: [3, 5] }], attrs: { transposeB: true }, run: mm(false, true), tolerance: DOT },
    { id: 'matmul.tAtB[5,7]x[3,5]', op: 'matmul', inputs: [{ shape: [5, 7] }, { shape: [3, 5] }], attrs: { transposeA: true, transposeB: true }, run: mm(true, true), tolerance: DOT },
    { id: 'matmul.batch.bcast[2,1,4,6]x[3,6,5]', op: 'matmul', inputs: [{ shape: [2, 1, 4, 6] }, { shape: [3, 6, 5] }], run: mm(false, false), tolerance: DOT },
    { id: 'matmul.rank2xbatch[4,6]x[3,6,2]', op: 'matmul', inputs: [{ shape: [4, 6] }, { shape: [3, 6, 2] }], run: mm(false, false), tolerance: DOT },
    { id: 'matmul.vector[1,33]x[33,1]', op: 'matmul', inputs: [{ shape: [1, 33] }, { shape: [33, 1] }], run: mm(false, false), tolerance: DOT },
    { id: 'matmul.emptyK[3,0]x[0,4]', op: 'matmul', inputs: [{ shape: [3, 0] }, { shape: [0, 4] }], run: mm(false, false), tolerance: EXACT },
    { id: 'matmul.big[64,300]x[300,96]', op: 'matmul', inputs: [{ shape: [64, 300] }, { shape: [300, 96] }], run: mm(false, false), tolerance: DOT },
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
    {
      id: 'conv2d.nobias[1,2,5,5]', op: 'conv2d', inputs: [{ shape: [1, 2, 5, 5] }, { shape: [3, 2, 3, 3] }], attrs: { bias: false },
      run: conv({}, false), tolerance: DOT,
    },
    // nearest 2x upsample read only by a 3x3 conv: ort-cpu lowers the pair as four 2x2 convs + DepthToSpace
    {
      id: 'conv2d.afterUpsample2x[2,3,4,5]', op: 'conv2d', inputs: [{ shape: [2, 3, 4, 5] }, { shape: [4, 3, 3, 3] }, { shape: [4] }], attrs: { upsample: 2, padding: 1 },
      run: ([x, w, b]) => C.conv2d(C.upsampleNearest2d(x!, 2), w!, b!, { padding: 1 }), tolerance: DOT,
    },
    {
      id: 'conv2d.nobias.afterUpsample2x[1,16,6,6]', op: 'conv2d', inputs: [{ shape: [1, 16, 6, 6] }, { shape: [16, 16, 3, 3] }], attrs: { upsample: 2, padding: 1, bias: false },
      run: ([x, w]) => C.conv2d(C.upsampleNearest2d(x!, 2), w!, null, { padding: 1 }), tolerance: DOT,
    },
    {
      // the upsample has a second use: it is computed, and the conv reads it as usual
      id: 'conv2d.afterUpsample2x.shared[1,2,3,3]', op: 'conv2d', inputs: [{ shape: [1, 2, 3, 3] }, { shape: [2, 2, 3, 3] }, { shape: [2] }], attrs: { upsample: 2, padding: 1 },
      run: ([x, w, b]) => {
        const u = C.upsampleNearest2d(x!, 2);
        return C.add(C.conv2d(u, w!, b!, { padding: 1 }), u);
      },
      tolerance: DOT,
    },
    att('plain[1,2,5,8]', [1, 2, 5, 8], [1, 2, 7, 8], {}),
    att('mask[2,2,4,8]', [2, 2, 4, 8], [2, 2, 6, 8], { mask: [2, 1, 1, 6] }),
    att('causal[1,3,6,4]', [1, 3, 6, 4], [1, 3, 6, 4], { causal: true }),
    att('causal.kvlonger[1,1,3,4]', [1, 1, 3, 4], [1, 1, 5, 4], { causal: true, scale: 0.3 }),
    att('mask.causal[1,2,5,8]', [1, 2, 5, 8], [1, 2, 5, 8], { mask: [5, 5], causal: true }),
    att('heads[1,4,64,16]', [1, 4, 64, 16], [1, 4, 64, 16], {}),
  ];
}

function normCases(): OpCase[] {
  return [
    { id: 'groupNorm.[2,6,4,5]g3', op: 'groupNorm', inputs: [{ shape: [2, 6, 4, 5] }, { shape: [6] }, { shape: [6] }], attrs: { groups: 3 }, run: ([x, w, b]) => C.groupNorm(x!, 3, w!, b!, 1e-5), tolerance: NORM },
    { id: 'groupNorm.noaffine.[1,8,3,3]g8', op: 'groupNorm', inputs: [{ shape: [1, 8, 3, 3] }], attrs: { groups: 8 }, run: ([x]) => C.groupNorm(x!, 8, null, null, 1e-6), tolerance: NORM },
    // a large mean beside a small spread (two-pass variance)
    { id: 'groupNorm.offset[1,8,6,6]g4', op: 'groupNorm', inputs: [{ shape: [1, 8, 6, 6] }, { shape: [8] }, { shape: [8] }], attrs: { groups: 4, offset: 5 }, run: ([x, w, b]) => C.groupNorm(C.add(C.mul(x!, 0.5), 5), 4, w!, b!, 1e-6), tolerance: NORM },
    { id: 'groupNorm.rank2[3,6]g3', op: 'groupNorm', inputs: [{ shape: [3, 6] }, { shape: [6] }, { shape: [6] }], attrs: { groups: 3 }, run: ([x, w, b]) => C.groupNorm(x!, 3, w!, b!, 1e-5), tolerance: NORM },
    { id: 'groupNorm.rank3[2,4,10]g2', op: 'groupNorm', inputs: [{ shape: [2, 4, 10] }, { shape: [4] }, { shape: [4] }], attrs: { groups: 2 }, run: ([x, w, b]) => C.groupNorm(x!, 2, w!, b!, 1e-5), tolerance: NORM },
    { id: 'groupNorm.large[1,64,32,32]g32', op: 'groupNorm', inputs: [{ shape: [1, 64, 32, 32] }, { shape: [64] }, { shape: [64] }], attrs: { groups: 32 }, run: ([x, w, b]) => C.groupNorm(x!, 32, w!, b!, 1e-6), tolerance: NORM, large: true },
    { id: 'layerNorm.[3,4,10]', op: 'layerNorm', inputs: [{ shape: [3, 4, 10] }, { shape: [10] }, { shape: [10] }], run: ([x, w, b]) => C.layerNorm(x!, w!, b!, 1e-5), tolerance: NORM },
    { id: 'layerNorm.noaffine[5,17]', op: 'layerNorm', inputs: [{ shape: [5, 17] }], run: ([x]) => C.layerNorm(x!, null, null, 1e-5), tolerance: NORM },
    { id: 'rmsNorm.[4,12]', op: 'rmsNorm', inputs: [{ shape: [4, 12] }, { shape: [12] }], run: ([x, w]) => C.rmsNorm(x!, w!, 1e-6), tolerance: NORM },
    { id: 'rmsNorm.unitOffset[2,3,8]', op: 'rmsNorm', inputs: [{ shape: [2, 3, 8] }, { shape: [8] }], attrs: { unitOffset: true }, run: ([x, w]) => C.rmsNorm(x!, w!, 1e-6, true), tolerance: NORM },
    { id: 'rmsNorm.noweight[3,7]', op: 'rmsNorm', inputs: [{ shape: [3, 7] }], run: ([x]) => C.rmsNorm(x!, null, 1e-6), tolerance: NORM },
  ];
}

export const CASES: readonly OpCase[] = [...unaryCases(), ...binaryCases(), ...reduceCases(), ...shapeCases(), ...linalgCases(), ...normCases()];
