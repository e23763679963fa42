import type { BinaryFn, UnaryFn } from '../../backend.js';
import type { T, TF, TfContext, TfKernels } from './types.js';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
/** Unary ops tfjs runs natively on int32; the rest compute in float32 and are cast back by the wrapper. */
const INT_NATIVE = new Set<UnaryFn>(['neg', 'abs', 'square', 'relu', 'sign']);

function unary(tf: TF, fn: UnaryFn, x: T): T {
  switch (fn) {
    case 'neg': return tf.neg(x);
    case 'exp': return tf.exp(x);
    case 'log': return tf.log(x);
    case 'sqrt': return tf.sqrt(x);
    case 'rsqrt': return tf.rsqrt(x);
    case 'abs': return tf.abs(x);
    case 'sigmoid': return tf.sigmoid(x);
    case 'silu': return tf.mul(x, tf.sigmoid(x));
    case 'gelu': return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
    case 'gelu_tanh': {
      const inner = tf.mul(tf.add(x, tf.mul(tf.mul(tf.mul(x, x), x), 0.044715)), SQRT_2_OVER_PI);
      return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
    }
    // PyTorch's softplus: beta 1, threshold 20
    case 'softplus': return tf.where(tf.greater(x, 20), x, tf.log1p(tf.exp(tf.minimum(x, 20))));
    case 'tanh': return tf.tanh(x);
    case 'sin': return tf.sin(x);
    case 'cos': return tf.cos(x);
    case 'square': return tf.square(x);
    case 'reciprocal': return tf.reciprocal(x);
    case 'relu': return tf.relu(x);
    case 'floor': return tf.floor(x);
    // from comparisons: exact on every backend (tfjs-wasm flushes tiny values), NaN kept like the oracle
    case 'sign': {
      const s = tf.sub(tf.cast(tf.greater(x, 0), x.dtype), tf.cast(tf.less(x, 0), x.dtype));
      return x.dtype === 'int32' ? s : tf.where(tf.isNaN(x), x, s);
    }
    case 'erf': return tf.erf(x);
  }
}

/** NaN in either operand gives NaN (PyTorch's maximum/minimum); tfjs-wasm would return the other value. */
function propagateNaN(tf: TF, a: T, b: T, r: T): T {
  if (a.dtype === 'int32') return r;
  const nan = tf.logicalOr(tf.isNaN(a), tf.isNaN(b));
  return tf.where(tf.broadcastTo(nan, r.shape), tf.fill(r.shape, NaN), r);
}

function binary(tf: TF, fn: BinaryFn, a: T, b: T): T {
  switch (fn) {
    case 'add': return tf.add(a, b);
    case 'sub': return tf.sub(a, b);
    case 'mul': return tf.mul(a, b);
    // int32 division truncates toward zero like the oracle (tf.div on int32 would floor): divide in float32
    case 'div': return tf.div(tf.cast(a, 'float32'), tf.cast(b, 'float32'));
    case 'pow': return tf.pow(tf.cast(a, 'float32'), tf.cast(b, 'float32'));
    case 'maximum': return propagateNaN(tf, a, b, tf.maximum(a, b));
    case 'minimum': return propagateNaN(tf, a, b, tf.minimum(a, b));
    case 'eq': return tf.equal(a, b);
    case 'ne': return tf.notEqual(a, b);
    case 'lt': return tf.less(a, b);
    case 'le': return tf.lessEqual(a, b);
    case 'gt': return tf.greater(a, b);
    case 'ge': return tf.greaterEqual(a, b);
  }
}

const emptyReduceValue = { sum: 0, mean: NaN, max: -Infinity, min: Infinity } as const;

type MathKernels = Pick<TfKernels, 'unary' | 'binary' | 'where' | 'reduce' | 'cumsum' | 'softmax' | 'cast'>;

export function mathKernels({ tf }: TfContext): MathKernels {
  const bcast = (x: T, shape: readonly number[]): T =>
    x.shape.length === shape.length && x.shape.every((d, i) => d === shape[i]) ? x : tf.broadcastTo(x, [...shape]);
  return {
    unary: ([x], { fn }) => unary(tf, fn, INT_NATIVE.has(fn) ? x!.handle : tf.cast(x!.handle, 'float32')),
    binary: ([a, b], { fn }) => binary(tf, fn, a!.handle, b!.handle),
    where: ([c, a, b], _, out) =>
      tf.where(bcast(tf.notEqual(c!.handle, 0), out.shape), bcast(a!.handle, out.shape), bcast(b!.handle, out.shape)),
    reduce: ([x], { fn, axes }, out) => {
      const X = x!;
      if (axes.length === 0) return tf.clone(X.handle);
      if (axes.some((a) => X.shape[a] === 0)) return tf.fill([...out.shape], emptyReduceValue[fn], out.dtype);
      const h = fn === 'mean' ? tf.cast(X.handle, 'float32') : X.handle;
      return tf[fn](h, axes, true);
    },
    // reverse by flipping: tfjs-webgpu's exclusive+reverse scan on a leading axis is wrong
    cumsum: ([x], { axis, exclusive, reverse }) => {
      if (!reverse) return tf.cumsum(x!.handle, axis, exclusive, false);
      return tf.reverse(tf.cumsum(tf.reverse(x!.handle, axis), axis, exclusive, false), axis);
    },
    softmax: ([x]) => tf.softmax(x!.handle),
    // float -> int32 truncates toward zero on every tfjs backend (checked by the conformance suite)
    cast: ([x], { dtype }) => tf.cast(x!.handle, dtype),
  };
}
