/**
 * Lowering of a recorded segment (the closed op set) to an ONNX model: opset 21 plus com.microsoft
 * fused ops where ONNX Runtime runs them faster. Weights become initializers whose bytes are handed to
 * the session in memory (external data), so nothing is copied into the protobuf: 16-bit weights stay
 * 16-bit and are cast to float32 inside the graph (ONNX Runtime folds that cast when it loads).
 *
 * Two compute types (`compute`): float32 graphs, and float16 graphs (mixed precision, see precision.ts):
 * weights, activations and products in float16; norms, softmax, reductions and transcendental functions
 * (the timestep and rotary embeddings) in float32; the graph's outputs float32.
 */
import type { BinaryFn, OpAttrs, OpName, UnaryFn } from '../backend.js';
import { UnsupportedOpError } from '../errors.js';
import type { LazyValue } from '../graph/lazy-value.js';
import type { Segment } from '../graph/segment.js';
import { Builder, type FileWeight, toOnnx } from './builder.js';
import { type Int8Kind, int8OnlyWeights, type Int8Options, int8Products, lowerInt8, releaseInt8Scratch } from './int8.js';
import { type ElemType, type FloatType, opPrecision } from './precision.js';
import * as P from './proto.js';

export type { FileWeight } from './builder.js';

export interface LoweredModel {
  bytes: Uint8Array;
  inputNames: string[];
  outputNames: string[];
  /** in-memory "files" the initializers point into */
  externalData: { path: string; data: Uint8Array }[];
  /**
   * Whether some weight feeds two or more matrix products or convolutions (a training graph: forward,
   * recompute and backward products of the same weight). ONNX Runtime pre-packs a copy of a weight per such
   * consumer and keeps the original too, so the runner turns pre-packing off for these graphs.
   */
  sharedWeights: boolean;
}

export interface LowerOptions {
  /** use com.microsoft.MultiHeadAttention for attention (ONNX Runtime only); default true */
  fusedAttention?: boolean;
  /**
   * 16-bit values fed per run stay float16 and are cast in the graph (CPU); otherwise they are fed as float32
   * (a GPU without `shader-f16` cannot run that cast; weights baked in are folded at load either way)
   */
  halfInputs?: boolean;
  /** transposed products as com.microsoft.FusedMatMul (ONNX Runtime's CPU provider) instead of Transpose + MatMul */
  transposedMatMul?: boolean;
  /** layout of MultiHeadAttention's key/value: 'bnsh' (as recorded, no transpose) or 'bsd' */
  attentionKvLayout?: 'bnsh' | 'bsd';
  /** element type of the graph's floating-point work (see precision.ts); default float32 */
  compute?: FloatType;
  /**
   * Standard ONNX only (graphs that leave the project): no com.microsoft ops, and RMS norms decomposed
   * instead of ONNX Runtime's SimplifiedLayerNormalization.
   */
  portable?: boolean;
  /**
   * Group norms as two-level reductions and a BatchNormalization (every kernel multi-threaded on ONNX Runtime's
   * CPU provider, whose InstanceNormalization runs on one thread) instead of InstanceNormalization + Mul + Add.
   */
  groupNormReductions?: boolean;
  /**
   * A nearest 2x upsample whose only use is a 3x3 convolution (stride 1, padding 1) as four 2x2 convolutions of
   * the small image, one per output phase, interleaved by DepthToSpace: 2.25x fewer multiply-adds.
   */
  subpixelUpsampleConv?: boolean;
  /**
   * Weights the session reads from their own files (16-bit weights of local safetensors files: the bytes are
   * the file's), as external data `location` (relative to the session's weights folder) at `offset`.
   */
  fileWeights?: ReadonlyMap<LazyValue, FileWeight>;
  /** every other initializer's bytes go into the protobuf (ONNX Runtime takes external data from files or from memory, not both) */
  inlineWeights?: boolean;
  /**
   * Matrix products and long convolutions by constant weights on int8 kernels (int8.ts; ONNX Runtime's CPU
   * provider, float32 graphs): `true` or the options of the choice.
   */
  int8?: boolean | Int8Options;
}

const UNARY_OPS: Partial<Record<UnaryFn, string>> = {
  neg: 'Neg', exp: 'Exp', log: 'Log', sqrt: 'Sqrt', abs: 'Abs', sigmoid: 'Sigmoid', tanh: 'Tanh', sin: 'Sin', cos: 'Cos',
  reciprocal: 'Reciprocal', relu: 'Relu', floor: 'Floor', sign: 'Sign', erf: 'Erf',
};
/** Unary functions ONNX defines on int32 directly; the rest go through float64 like the cpu backend. */
const INT_UNARY = new Set<UnaryFn>(['neg', 'abs', 'sign', 'square', 'relu']);
const BINARY_OPS: Record<Exclude<BinaryFn, 'ne'>, string> = {
  add: 'Add', sub: 'Sub', mul: 'Mul', div: 'Div', pow: 'Pow', maximum: 'Max', minimum: 'Min',
  eq: 'Equal', lt: 'Less', le: 'LessOrEqual', gt: 'Greater', ge: 'GreaterOrEqual',
};

function unary(b: Builder, fn: UnaryFn, x: string, out: string, dtype: 'float32' | 'int32'): void {
  if (dtype === 'int32' && !INT_UNARY.has(fn)) {
    const xf = b.op('Cast', [x], { to: P.ONNX_DTYPE.double });
    const yf = unaryFloat(b, fn, xf);
    b.op('Cast', [yf], { to: P.ONNX_DTYPE.int32 }, undefined, out);
    return;
  }
  unaryFloat(b, fn, x, out);
}

function unaryFloat(b: Builder, fn: UnaryFn, x: string, out?: string): string {
  const simple = UNARY_OPS[fn];
  if (simple) return b.op(simple, [x], undefined, undefined, out);
  switch (fn) {
    case 'rsqrt':
      return b.op('Reciprocal', [b.op('Sqrt', [x])], undefined, undefined, out);
    case 'silu':
      return b.op('Mul', [x, b.op('Sigmoid', [x])], undefined, undefined, out);
    case 'gelu':
      return b.op('Gelu', [x], { approximate: 'none' }, undefined, out);
    case 'gelu_tanh':
      return b.op('Gelu', [x], { approximate: 'tanh' }, undefined, out);
    case 'square':
      return b.op('Mul', [x, x], undefined, undefined, out);
    case 'softplus': {
      // PyTorch's softplus: x above the threshold 20, log1p(exp(x)) below
      const sp = b.op('Softplus', [x]);
      return b.op('Where', [b.op('Greater', [x, b.fill('float32', [], 20)]), x, sp], undefined, undefined, out);
    }
    default:
      throw new UnsupportedOpError('onnx', `unary.${fn}`);
  }
}

export function lowerSegment(seg: Segment, opts: LowerOptions = {}): LoweredModel {
  const compute = opts.compute ?? 'float32';
  const lo: LowerOptions = opts.portable ? { ...opts, fusedAttention: false, transposedMatMul: false } : opts;
  const b = new Builder();
  b.inline = opts.inlineWeights === true;
  const names = new Map<LazyValue, string>();
  /** element type of each value in the graph (a float32 value may be float16 in a float16 graph) */
  const types = new Map<LazyValue, ElemType>();
  const inputs: P.Msg[] = [];
  const inputNames: string[] = [];
  seg.inputs.forEach((v, i) => {
    const name = `in${i}`;
    inputNames.push(name);
    if (v.storage?.dtype === 'float16' && opts.halfInputs) {
      // a 16-bit weight fed per run (a parameter that changes): cast in the graph, as for baked weights
      inputs.push(P.valueInfo(name, 'float16', v.shape));
      if (compute === 'float16') names.set(v, name);
      else names.set(v, b.op('Cast', [name], { to: P.ONNX_DTYPE.float32 }));
      types.set(v, compute);
      return;
    }
    names.set(v, name);
    types.set(v, v.dtype);
    inputs.push(P.valueInfo(name, toOnnx(v.dtype), v.shape));
  });
  const fused = opts.subpixelUpsampleConv ? subpixelConvs(seg) : new Map<LazyValue, LazyValue>();
  b.subpixel = new Set(fused.values());
  const int8 = int8Plan(seg, opts, b.subpixel);
  const int8Only = int8OnlyWeights(seg, int8);
  const weightKey = new Map<LazyValue, string>();
  seg.constants.forEach((v, i) => {
    weightKey.set(v, `w${i}`);
    if (int8Only.has(v)) return;
    const w = b.weight(`w${i}`, v, i, compute, opts.fileWeights?.get(v));
    names.set(v, w.name);
    types.set(v, w.type);
  });
  const outputNames: string[] = [];
  const outIndex = new Map<LazyValue, string>();
  // in a float16 graph an output may need a final cast, so nodes are never named after outputs there
  if (compute === 'float32') seg.outputs.forEach((v, i) => outIndex.set(v, `out${i}`));
  seg.nodes.forEach((v, i) => {
    if (fused.has(v)) {
      // an upsample read only by a sub-pixel convolution: not computed, its consumer reads what it upsampled
      names.set(v, names.get(v.inputs[0]!)!);
      types.set(v, types.get(v.inputs[0]!)!);
      return;
    }
    const name = outIndex.get(v) ?? `v${i}`;
    const ins = v.inputs.map((u) => (u ? (names.get(u) ?? '') : ''));
    const kind = int8.get(v);
    if (kind) {
      lowerInt8(b, v, kind, ins, name, weightKey.get(v.inputs[1]!)!);
      types.set(v, v.dtype);
    } else if (compute === 'float32') {
      lowerOp(b, v, ins, name, lo);
      types.set(v, v.dtype);
    } else types.set(v, lowerMixed(b, v, ins, v.inputs.map((u) => (u ? types.get(u)! : 'float32')), name, lo));
    names.set(v, name);
  });
  if (int8.size) releaseInt8Scratch();
  const outputs: P.Msg[] = [];
  seg.outputs.forEach((v, i) => {
    let name = names.get(v)!;
    const t = types.get(v)!;
    if (t !== v.dtype) name = b.op('Cast', [name], { to: P.ONNX_DTYPE[v.dtype] }, undefined, `out${i}`);
    else if (!name.startsWith('out')) name = b.op('Identity', [name], undefined, undefined, `out${i}`);
    outputNames.push(name);
    outputs.push(P.valueInfo(name, toOnnx(v.dtype), v.shape));
  });
  const bytes = P.model({
    graphName: seg.label.replace(/[^A-Za-z0-9_]/g, '_') || 'sdxs',
    nodes: b.nodes,
    initializers: b.initializers,
    inputs,
    outputs,
    opsets: opts.portable ? { '': 21 } : { '': 21, 'com.microsoft': 1 },
  });
  return { bytes, inputNames, outputNames, externalData: b.externalData, sharedWeights: sharesWeights(b, seg.constants.map((_, i) => `w${i}`)) };
}

/** The int8 products of a float32 graph lowered with `int8` (none otherwise). */
export function int8Plan(seg: Segment, opts: LowerOptions, exclude: ReadonlySet<LazyValue> = new Set()): Map<LazyValue, Int8Kind> {
  if (!opts.int8 || (opts.compute ?? 'float32') !== 'float32') return new Map();
  return int8Products(seg, opts.int8 === true ? {} : opts.int8, exclude);
}

/** The weights of a segment that the graph will hold as int8 only (the runner hands them over in memory). */
export function int8OnlyWeightsOf(seg: Segment, opts: LowerOptions): Set<LazyValue> {
  const subpixel = opts.subpixelUpsampleConv ? new Set(subpixelConvs(seg).values()) : new Set<LazyValue>();
  return int8OnlyWeights(seg, int8Plan(seg, opts, subpixel));
}

/**
 * One op of a float16 graph: its float inputs cast to the type the op computes in (opPrecision), the op
 * lowered in that type, and its result cast where the policy says so. Returns the result's element type.
 */
function lowerMixed(b: Builder, v: LazyValue, ins: string[], inTypes: ElemType[], out: string, opts: LowerOptions): ElemType {
  const p = opPrecision(v, inTypes);
  const floatIn = (i: number): boolean => inTypes[i] !== 'int32' && v.inputs[i] != null;
  const cast = ins.map((n, i) => (floatIn(i) ? b.castTo(n, inTypes[i]!, p.inputs[i] ?? p.compute) : n));
  b.ft = p.compute;
  try {
    if (p.result === p.compute || v.dtype === 'int32') {
      lowerOp(b, v, cast, out, opts);
      return v.dtype === 'int32' ? 'int32' : p.compute;
    }
    const tmp = b.fresh(`${v.op}_${p.compute}`);
    lowerOp(b, v, cast, tmp, opts);
    b.op('Cast', [tmp], { to: P.ONNX_DTYPE[p.result] }, undefined, out);
    return p.result;
  } finally {
    b.ft = 'float32';
  }
}

/** Ops that pass a weight on unchanged in value (a cast from its 16-bit storage, a layout change). */
const WEIGHT_VIEWS = new Set(['Cast', 'Transpose', 'Reshape', 'Identity', 'Unsqueeze', 'Squeeze']);
/** Kernels that ONNX Runtime's CPU provider pre-packs a constant operand for. */
const PACKED = new Set(['MatMul', 'FusedMatMul', 'Gemm', 'Conv', 'ConvTranspose']);

/** Whether a weight (followed through casts and layout ops) is the packed operand of two or more kernels. */
function sharesWeights(b: Builder, weights: readonly string[]): boolean {
  const root = new Map<string, string>(weights.map((w) => [w, w]));
  const uses = new Map<string, number>();
  for (const e of b.edges) {
    if (WEIGHT_VIEWS.has(e.op)) {
      const r = root.get(e.inputs[0] ?? '');
      if (r) root.set(e.output, r);
    } else if (PACKED.has(e.op)) {
      // only the second operand is pre-packed (a product's B, a convolution's filter): a bias shared by the
      // sub-pixel convolution's parts is not a shared weight
      const r = root.get(e.inputs[1] ?? '');
      if (!r) continue;
      const n = (uses.get(r) ?? 0) + 1;
      if (n > 1) return true;
      uses.set(r, n);
    }
  }
  return false;
}

/** How one op of the closed op set is written in ONNX: a lowering for every op, or the table does not type-check. */
type Lowering<K extends OpName> = (b: Builder, v: LazyValue, ins: string[], out: string, a: OpAttrs[K], opts: LowerOptions) => void;

const shapeOf = (v: LazyValue, i: number): readonly number[] => v.inputs[i]!.shape;

const LOWERINGS: { readonly [K in OpName]: Lowering<K> } = {
  unary: (b, v, ins, out, a, opts) => {
    unary(b, a.fn, ins[0]!, out, v.dtype);
  },
  binary: (b, v, ins, out, a, opts) => {
    const fn = a.fn;
    if (fn === 'ne') {
      b.op('Cast', [b.op('Not', [b.op('Equal', ins)])], { to: P.ONNX_DTYPE[b.elem(v.dtype)] }, undefined, out);
      return;
    }
    const onnx = BINARY_OPS[fn];
    if (['eq', 'lt', 'le', 'gt', 'ge'].includes(fn)) {
      b.op('Cast', [b.op(onnx, ins)], { to: P.ONNX_DTYPE[b.elem(v.dtype)] }, undefined, out);
      return;
    }
    if (fn === 'pow' && v.dtype === 'int32') {
      const f = b.op('Pow', [b.op('Cast', [ins[0]!], { to: P.ONNX_DTYPE.double }), b.op('Cast', [ins[1]!], { to: P.ONNX_DTYPE.double })]);
      b.op('Cast', [f], { to: P.ONNX_DTYPE.int32 }, undefined, out);
      return;
    }
    b.op(onnx, ins, undefined, undefined, out);
  },
  where: (b, v, ins, out, a, opts) => {
    const cond = b.op('Cast', [ins[0]!], { to: P.ONNX_DTYPE.bool });
    b.op('Where', [cond, ins[1]!, ins[2]!], undefined, undefined, out);
  },
  reduce: (b, v, ins, out, a, opts) => {
    const { fn, axes } = a;
    const onnx = { sum: 'ReduceSum', mean: 'ReduceMean', max: 'ReduceMax', min: 'ReduceMin' }[fn];
    if (axes.length === 0) {
      b.op('Identity', [ins[0]!], undefined, undefined, out);
      return;
    }
    const x = v.inputs[0]!;
    if (axes.some((ax) => x.shape[ax] === 0)) {
      // a reduction over nothing is its identity (the mean NaN), as on the cpu backend; some providers reject empty inputs
      const identity = { sum: 0, mean: NaN, max: -Infinity, min: Infinity }[fn];
      b.op('Identity', [b.fill(v.dtype, [...v.shape], identity)], undefined, undefined, out);
      return;
    }
    if (fn === 'mean' && x.dtype === 'int32') {
      const s = b.op('ReduceMean', [b.op('Cast', [ins[0]!], { to: P.ONNX_DTYPE.double }), b.i64(axes)], { keepdims: 1 });
      b.op('Cast', [s], { to: P.ONNX_DTYPE[b.elem(v.dtype)] }, undefined, out);
      return;
    }
    b.op(onnx, [ins[0]!, b.i64(axes)], { keepdims: 1 }, undefined, out);
  },
  cumsum: (b, v, ins, out, a, opts) => {
    const { axis, exclusive, reverse } = a;
    b.op('CumSum', [ins[0]!, b.i64([axis], true)], { exclusive: exclusive ? 1 : 0, reverse: reverse ? 1 : 0 }, undefined, out);
  },
  softmax: (b, v, ins, out, a, opts) => {
    b.op('Softmax', [ins[0]!], { axis: -1 }, undefined, out);
  },
  matmul: (b, v, ins, out, a, opts) => {
    const { transposeA, transposeB } = a;
    if ((transposeA || transposeB) && opts.transposedMatMul) {
      // com.microsoft.FusedMatMul reads the transposed operand in place: no transposed copy of a weight
      b.op('FusedMatMul', [ins[0]!, ins[1]!], { transA: transposeA ? 1 : 0, transB: transposeB ? 1 : 0, alpha: { float: 1 } }, 'com.microsoft', out);
      return;
    }
    const t = (x: string, rank: number): string => {
      const perm = [...Array(rank).keys()];
      [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1]!, perm[rank - 2]!];
      return b.op('Transpose', [x], { perm });
    };
    const x = transposeA ? t(ins[0]!, shapeOf(v, 0).length) : ins[0]!;
    const y = transposeB ? t(ins[1]!, shapeOf(v, 1).length) : ins[1]!;
    b.op('MatMul', [x, y], undefined, undefined, out);
  },
  conv2d: (b, v, ins, out, a, opts) => {
    if (b.subpixel.has(v)) {
      lowerSubpixelConv(b, ins, out);
      return;
    }
    const { stride, padding, dilation, groups } = a;
    const [top, bottom, left, right] = padding;
    const w = shapeOf(v, 1);
    const cin = [ins[0]!, ins[1]!];
    if (ins[2]) cin.push(ins[2]);
    b.op('Conv', cin, { strides: [...stride], pads: [top, left, bottom, right], dilations: [...dilation], group: groups, kernel_shape: [w[2]!, w[3]!] }, undefined, out);
  },
  groupNorm: (b, v, ins, out, a, opts) => {
    const { groups, eps } = a;
    const shape = shapeOf(v, 0);
    const [n, c] = [shape[0]!, shape[1]!];
    if (opts.groupNormReductions) {
      lowerGroupNormReductions(b, ins, shape, groups, eps, out, !!opts.int8);
      return;
    }
    // InstanceNormalization over [N, G, rest] is ONNX Runtime's fast path (GroupNormalization decomposes)
    const r = b.op('Reshape', [ins[0]!, b.i64([n, groups, -1])]);
    const normed = b.op('InstanceNormalization', [r, b.fill('float32', [groups], 1), b.fill('float32', [groups], 0)], { epsilon: { float: eps } });
    const hasAffine = ins[1] || ins[2];
    const back = b.op('Reshape', [normed, b.i64([...shape])], undefined, undefined, hasAffine ? undefined : out);
    if (!hasAffine) return;
    const bshape = [c, ...shape.slice(2).map(() => 1)];
    let y = back;
    if (ins[1]) y = b.op('Mul', [y, b.op('Reshape', [ins[1], b.i64(bshape)])], undefined, undefined, ins[2] ? undefined : out);
    if (ins[2]) b.op('Add', [y, b.op('Reshape', [ins[2], b.i64(bshape)])], undefined, undefined, out);
  },
  layerNorm: (b, v, ins, out, a, opts) => {
    const { eps } = a;
    const d = shapeOf(v, 0)[shapeOf(v, 0).length - 1]!;
    const scale = ins[1] || b.fill('float32', [d], 1);
    const li = [ins[0]!, scale];
    if (ins[2]) li.push(ins[2]);
    b.op('LayerNormalization', li, { axis: -1, epsilon: { float: eps } }, undefined, out);
  },
  rmsNorm: (b, v, ins, out, a, opts) => {
    const { eps, unitOffset } = a;
    const d = shapeOf(v, 0)[shapeOf(v, 0).length - 1]!;
    let scale = ins[1] || b.fill('float32', [d], 1);
    if (ins[1] && unitOffset) scale = b.op('Add', [ins[1], b.fill('float32', [], 1)]);
    if (opts.portable) {
      // x / sqrt(mean(x²) + eps) · scale in standard ops
      const ms = b.op('ReduceMean', [b.op('Mul', [ins[0]!, ins[0]!]), b.i64([-1])], { keepdims: 1 });
      const normed = b.op('Div', [ins[0]!, b.op('Sqrt', [b.op('Add', [ms, b.fill('float32', [], eps)])])]);
      b.op('Mul', [normed, scale], undefined, undefined, out);
      return;
    }
    // SimplifiedLayerNormalization is an ONNX Runtime extension that ONNX Runtime registers in the default
    // ONNX domain (not com.microsoft), so it is written there for our own sessions; onnx.checker rejects it,
    // which is why graphs that leave the project (portable) use the decomposition above
    b.op('SimplifiedLayerNormalization', [ins[0]!, scale], { axis: -1, epsilon: { float: eps } }, undefined, out);
  },
  attention: (b, v, ins, out, a, opts) => {
    lowerAttention(b, v, ins, out, a, opts);
  },
  upsampleNearest: (b, v, ins, out, a, opts) => {
    const { size } = a;
    const s = shapeOf(v, 0);
    const sizes = [...s.slice(0, -2), size[0], size[1]];
    b.op('Resize', [ins[0]!, '', '', b.i64(sizes)], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }, undefined, out);
  },
  pad: (b, v, ins, out, a, opts) => {
    const { pads, mode, value } = a;
    const flat = [...pads.map((p) => p[0]), ...pads.map((p) => p[1])];
    const pi = [ins[0]!, b.i64(flat)];
    if (mode === 'constant') pi.push(b.fill(v.dtype, [], value));
    b.op('Pad', pi, { mode }, undefined, out);
  },
  concat: (b, v, ins, out, a, opts) => {
    b.op('Concat', ins, { axis: a.axis }, undefined, out);
  },
  slice: (b, v, ins, out, a, opts) => {
    const { begin, size } = a;
    const axes = begin.map((_, i) => i);
    b.op('Slice', [ins[0]!, b.i64(begin), b.i64(begin.map((s, i) => s + size[i]!)), b.i64(axes)], undefined, undefined, out);
  },
  gather: (b, v, ins, out, a, opts) => {
    b.op('Gather', ins, { axis: a.axis }, undefined, out);
  },
  transpose: (b, v, ins, out, a, opts) => {
    b.op('Transpose', [ins[0]!], { perm: a.perm }, undefined, out);
  },
  reshape: (b, v, ins, out, a, opts) => {
    if (v.inputs[0]!.dtype !== v.dtype) {
      b.op('Cast', [ins[0]!], { to: P.ONNX_DTYPE[b.elem(v.dtype)] }, undefined, out);
      return;
    }
    b.op('Reshape', [ins[0]!, b.i64([...v.shape])], { allowzero: 1 }, undefined, out);
  },
  cast: (b, v, ins, out, a, opts) => {
    b.op('Cast', [ins[0]!], { to: P.ONNX_DTYPE[b.elem(a.dtype)] }, undefined, out);
  },
};

function lowerOp(b: Builder, v: LazyValue, ins: string[], out: string, opts: LowerOptions): void {
  const op = v.op as OpName;
  const size = (sh: readonly number[]): number => sh.reduce((p, d) => p * d, 1);
  // Empty results and empty contractions are constants (some providers reject empty tensors; WebGPU's crashes).
  const emptyK = op === 'matmul' && size(shapeOf(v, 0)) === 0 && size(v.shape) > 0;
  if (size(v.shape) === 0 || emptyK) {
    b.op('Identity', [b.fill(v.dtype, [...v.shape], 0)], undefined, undefined, out);
    return;
  }
  const lowering = LOWERINGS[op] as Lowering<OpName> | undefined;
  if (!lowering) throw new UnsupportedOpError('onnx', String(op));
  lowering(b, v, ins, out, v.attrs as OpAttrs[OpName], opts);
}

/**
 * Attention over q [B, H, Sq, D], k/v [B, H, Sk, D(v)] with an optional additive mask: MatMul-Softmax-MatMul,
 * or com.microsoft.MultiHeadAttention (fused, faster on ONNX Runtime's CPU and WebGPU providers).
 */
function lowerAttention(b: Builder, v: LazyValue, ins: string[], out: string, a: OpAttrs['attention'], opts: LowerOptions): void {
  const [q, k, val, mask] = ins;
  const qs = v.inputs[0]!.shape;
  const ks = v.inputs[1]!.shape;
  const vs = v.inputs[2]!.shape;
  const [B, H, Sq, D] = qs as [number, number, number, number];
  const Sk = ks[2]!;
  const Dv = vs[3]!;
  let bias: string | null = null;
  if (a.causal) {
    const m = new Float32Array(Sq * Sk);
    for (let i = 0; i < Sq; i++) for (let j = 0; j < Sk; j++) if (j > i + (Sk - Sq)) m[i * Sk + j] = -Infinity;
    const name = b.fresh('causal');
    b.initializers.push(P.tensorRaw(name, 'float32', [1, 1, Sq, Sk], new Uint8Array(m.buffer)));
    bias = name;
  }
  // the mask (and the causal bias) is float32 in both graph types (precision.ts)
  if (mask) bias = bias ? b.op('Add', [bias, mask]) : mask;
  const half = b.ft === 'float16';
  const fused = (opts.fusedAttention ?? true) && qs.length === 4 && ks.length === 4 && vs.length === 4 && ks[0] === B && vs[0] === B && ks[1] === H && vs[1] === H;
  if (fused) {
    // MultiHeadAttention takes query [B, Sq, H*D] and key/value in BNSH; attention_bias is [B|1, H|1, Sq, Sk]
    const q3 = b.op('Reshape', [b.op('Transpose', [q!], { perm: [0, 2, 1, 3] }), b.i64([B, Sq, H * D])]);
    // key/value stay BNSH on ONNX Runtime's CPU provider; its WebGPU provider gets them as [B, Sk, H*D] too
    // (its BNSH path gave wrong results at Sk = 64 in 1.30)
    const toBsd = (x: string, d: number): string => b.op('Reshape', [b.op('Transpose', [x], { perm: [0, 2, 1, 3] }), b.i64([B, Sk, H * d])]);
    const k3 = opts.attentionKvLayout === 'bsd' ? toBsd(k!, D) : k!;
    const v3 = opts.attentionKvLayout === 'bsd' ? toBsd(val!, Dv) : val!;
    const mi = [q3, k3, v3, '', ''];
    if (bias) {
      const ms = mask ? v.inputs[3]!.shape : [1, 1, Sq, Sk];
      const full = [...Array(4 - ms.length).fill(1), ...ms];
      let bb = ms.length === 4 ? bias : b.op('Reshape', [bias, b.i64(full)]);
      if (full[2] !== Sq || full[3] !== Sk || (a.causal && mask)) bb = b.op('Expand', [bb, b.i64([full[0]!, full[1]!, Sq, Sk])]);
      // a float16 kernel takes a float16 bias: clamped first, so that -Inf and float32's large negatives stay finite
      if (half) bb = b.castTo(b.op('Max', [bb, b.fill32(-65504)]), 'float32', 'float16');
      mi.push(bb);
    }
    const o = b.op('MultiHeadAttention', mi, { num_heads: H, scale: { float: a.scale } }, 'com.microsoft');
    const o4 = b.op('Reshape', [o, b.i64([B, Sq, H, Dv])]);
    b.op('Transpose', [o4], { perm: [0, 2, 1, 3] }, undefined, out);
    return;
  }
  const kt = b.op('Transpose', [k!], { perm: [...Array(ks.length - 2).keys(), ks.length - 1, ks.length - 2] });
  if (half) {
    // float16 products, float32 softmax: q is scaled before the product so q·k cannot overflow float16
    let s = b.castTo(b.op('MatMul', [b.op('Mul', [q!, b.fill('float32', [], a.scale)]), kt]), 'float16', 'float32');
    if (bias) s = b.op('Add', [s, bias]);
    b.op('MatMul', [b.castTo(b.op('Softmax', [s], { axis: -1 }), 'float32', 'float16'), val!], undefined, undefined, out);
    return;
  }
  let s = b.op('Mul', [b.op('MatMul', [q!, kt]), b.fill('float32', [], a.scale)]);
  if (bias) s = b.op('Add', [s, bias]);
  b.op('MatMul', [b.op('Softmax', [s], { axis: -1 }), val!], undefined, undefined, out);
}

/**
 * Nearest 2x upsamples (of 4-d values) whose only use in the segment is a 3x3 convolution with stride 1,
 * padding 1, no dilation and one group: upsample → the convolution that reads it.
 */
function subpixelConvs(seg: Segment): Map<LazyValue, LazyValue> {
  const uses = new Map<LazyValue, number>();
  for (const v of [...seg.nodes.flatMap((n) => n.inputs), ...seg.outputs]) if (v) uses.set(v, (uses.get(v) ?? 0) + 1);
  const own = new Set(seg.nodes);
  const out = new Map<LazyValue, LazyValue>();
  for (const v of seg.nodes) {
    if (v.op !== 'conv2d' || !v.inputs[0] || !v.inputs[1]) continue;
    const u = v.inputs[0];
    const { stride, padding, dilation, groups } = v.attrs as OpAttrs['conv2d'];
    const w = v.inputs[1].shape;
    const unit = (xs: readonly number[], k: number): boolean => xs.every((x) => x === k);
    if (!own.has(u) || u.op !== 'upsampleNearest' || uses.get(u) !== 1 || u.dtype !== 'float32') continue;
    const src = u.inputs[0]!.shape;
    const { size } = u.attrs as OpAttrs['upsampleNearest'];
    if (src.length !== 4 || size[0] !== 2 * src[2]! || size[1] !== 2 * src[3]!) continue;
    if (!unit(stride, 1) || !unit(padding, 1) || !unit(dilation, 1) || groups !== 1 || w[2] !== 3 || w[3] !== 3) continue;
    out.set(u, v);
  }
  return out;
}

/**
 * The two 2-tap kernels a 3-tap kernel (taps k0, k1, k2 along `axis`) becomes on the small image once the input
 * is a nearest 2x upsample: even outputs read pixels i-1 and i (k0, k1 + k2), odd ones i and i+1 (k0 + k1, k2).
 */
function phaseTaps(b: Builder, w: string, axis: number): [string, string] {
  const tap = (k: number): string => b.op('Slice', [w, b.i64([k]), b.i64([k + 1]), b.i64([axis])]);
  const [k0, k1, k2] = [tap(0), tap(1), tap(2)];
  return [b.op('Concat', [k0, b.op('Add', [k1, k2])], { axis }), b.op('Concat', [b.op('Add', [k0, k1]), k2], { axis })];
}

/**
 * conv3x3(upsample2x(x)) as four 2x2 convolutions of x, one per output phase (row parity a, column parity c,
 * padded so that phase (a, c) reads rows i-1+a..i+a and columns j-1+c..j+c), stacked on the channel axis and
 * interleaved by DepthToSpace. The phase kernels are sums of the weight's taps, computed in the graph (folded
 * into constants when the weight is one).
 */
function lowerSubpixelConv(b: Builder, ins: string[], out: string): void {
  const [x, w, bias] = ins;
  // the tap sums in float32 (a float16 graph's weights are float16)
  const rows = phaseTaps(b, b.castTo(w!, b.ft, 'float32'), 2);
  const phases: string[] = [];
  for (let a = 0; a < 2; a++) {
    const k = phaseTaps(b, rows[a]!, 3);
    for (let c = 0; c < 2; c++) {
      const ci = [x!, b.castTo(k[c]!, 'float32', b.ft)];
      if (bias) ci.push(bias);
      phases.push(b.op('Conv', ci, { strides: [1, 1], pads: [1 - a, 1 - c, a, c], dilations: [1, 1], group: 1, kernel_shape: [2, 2] }));
    }
  }
  b.op('DepthToSpace', [b.op('Concat', phases, { axis: 1 })], { blocksize: 2, mode: 'DCR' }, undefined, out);
}

/**
 * Group norm of x [N, C, ...spatial] in kernels that ONNX Runtime's CPU provider runs on all its threads: the
 * mean and the variance (of x - mean: two passes) as reductions in two levels (rows of the last axis first, for
 * accuracy), then the per-channel scale and shift in one BatchNormalization over [1, N*C, rest].
 * `onePass` (int8 graphs, whose products err by 1e-2 anyway): the variance as E[x²] − E[x]² from reductions of x
 * itself, and the mean folded into the shift, so that x is read three times and the output written once instead
 * of four reads and two writes (x − mean is not materialized); float32 rounding of the difference costs
 * ~1e-7 · (mean² + var) / var relatively, far below the int8 products' error.
 */
function lowerGroupNormReductions(b: Builder, ins: string[], shape: readonly number[], groups: number, eps: number, out: string, onePass = false): void {
  const [n, c] = [shape[0]!, shape[1]!];
  const per = c / groups;
  const spatial = shape.slice(2).reduce((p, d) => p * d, 1);
  const k = per * spatial;
  const k2 = shape.length > 2 ? shape[shape.length - 1]! : per;
  const r = b.op('Reshape', [ins[0]!, b.i64([n, groups, k / k2, k2])]);
  const mean = (t: string): string => b.op('ReduceMean', [b.op('ReduceMean', [t, b.i64([3])], { keepdims: 1 }), b.i64([2])], { keepdims: 1 });
  const m = mean(r);
  const d = onePass ? r : b.op('Sub', [r, m]);
  const sumSq = b.op('ReduceSum', [b.op('ReduceSumSquare', [d, b.i64([3])], { keepdims: 1 }), b.i64([2])], { keepdims: 1 });
  let variance = b.op('Mul', [sumSq, b.fill('float32', [], 1 / k)]);
  if (onePass) variance = b.op('Max', [b.op('Sub', [variance, b.op('Mul', [m, m])]), b.fill('float32', [], 0)]);
  const rstd = b.op('Reciprocal', [b.op('Sqrt', [b.op('Add', [variance, b.fill('float32', [], eps)])])]);
  const perGroup = b.op('Reshape', [rstd, b.i64([n, groups, 1])]);
  const scale3 = ins[1] ? b.op('Mul', [perGroup, b.op('Reshape', [ins[1], b.i64([1, groups, per])])]) : b.op('Expand', [perGroup, b.i64([n, groups, per])]);
  const scale = b.op('Reshape', [scale3, b.i64([n * c])]);
  let shift = b.fill('float32', [n * c], 0);
  if (ins[2]) shift = n === 1 ? ins[2] : b.op('Reshape', [b.op('Expand', [b.op('Reshape', [ins[2], b.i64([1, c])]), b.i64([n, c])]), b.i64([n * c])]);
  // (x − mean)·scale + shift = x·scale + (shift − mean·scale)
  if (onePass) shift = b.op('Sub', [shift, b.op('Reshape', [b.op('Mul', [b.op('Reshape', [m, b.i64([n, groups, 1])]), scale3]), b.i64([n * c])])]);
  // BatchNormalization with mean 0, variance 1 and epsilon 0 is x * scale + shift per channel
  const normed = b.op('BatchNormalization', [b.op('Reshape', [d, b.i64([1, n * c, spatial])]), scale, shift, b.fill('float32', [n * c], 0), b.fill('float32', [n * c], 1)], { epsilon: { float: 0 } });
  b.op('Reshape', [normed, b.i64([...shape])], undefined, undefined, out);
}
