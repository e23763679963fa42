/**
 * The precision policy of float16 graphs (`compute: 'float16'`): which ops compute in float16 and which in
 * float32, and the host-side conversion of weights to float16.
 *
 * - float16: matrix products, convolutions and attention (their operands cast to float16: this is where the
 *   time goes and where a GPU's float16 units double the speed), and every op whose float inputs are all
 *   float16 (element-wise ops, layout ops): activations stay float16 between products.
 * - float32 inside, float16 out: group/layer/RMS norms and softmax. Their sums of squares and exponentials
 *   overflow or lose most of float16's 11 significant bits; the normalised result is small and fits float16.
 * - float32 in and out: reductions and cumulative sums (long sums in float16 lose the small terms), the
 *   transcendental functions exp, log, sin, cos, softplus, sqrt, rsqrt, reciprocal and pow, and casts from
 *   integers. This keeps the timestep embedding (sin/cos of t·freqs, t up to 1000) and the rotary embedding
 *   (cos/sin of position·inv_freq) in float32: float16's spacing at 1000 is 0.5, far too coarse for an
 *   angle. Ops that follow a float32 value compute in float32 (the widest input wins) until the next product
 *   casts back to float16.
 * - Ops recorded inside `fullPrecision(fn)` (graph/full-precision.ts) compute in float32: model code marks
 *   the regions its reference runs in float32 whatever the dtype (Qwen3.5's gated delta rule).
 * - The graph's inputs are fed as float32 (or 16-bit weights as float16) and its outputs are float32.
 * - Attention masks stay float32 and are clamped to float16's range (-65504) before the fused kernel, so a
 *   row masked entirely gives a uniform softmax (as float32's large negative does), never NaN from -Inf.
 */
import type { OpAttrs, UnaryFn } from '../backend.js';
import { CheckpointError } from '../errors.js';
import { bf16ToF32, f32ToF16Checked, FLOAT16_MAX } from '../io/half.js';
import type { LazyValue } from '../graph/lazy-value.js';

export type FloatType = 'float16' | 'float32';
export type ElemType = FloatType | 'int32';

export interface Precision {
  /** the type the op computes in (and its float inputs are cast to, unless `inputs` says otherwise) */
  compute: FloatType;
  /** per-input target types that differ from `compute` */
  inputs: (ElemType | undefined)[];
  /** the type of the op's result */
  result: FloatType;
}

const FLOAT32_UNARY = new Set<UnaryFn>(['exp', 'log', 'sin', 'cos', 'softplus', 'sqrt', 'rsqrt', 'reciprocal']);

/** float16 unless some float input is float32. */
export function widest(types: readonly (ElemType | undefined)[]): FloatType {
  let seen = false;
  for (const t of types) {
    if (t === 'float32') return 'float32';
    if (t === 'float16') seen = true;
  }
  return seen ? 'float16' : 'float32';
}

const same = (compute: FloatType, result: FloatType = compute): Precision => ({ compute, inputs: [], result });

/** The precision an op of a float16 graph computes in, given its inputs' element types. */
export function opPrecision(v: LazyValue, inTypes: readonly ElemType[]): Precision {
  if (v.fullPrecision) return same('float32');
  switch (v.op) {
    case 'matmul':
    case 'conv2d':
      return same('float16');
    case 'attention':
      return { compute: 'float16', inputs: [undefined, undefined, undefined, 'float32'], result: 'float16' };
    case 'groupNorm':
    case 'layerNorm':
    case 'rmsNorm':
    case 'softmax':
      return same('float32', 'float16');
    case 'reduce':
    case 'cumsum':
      return same('float32');
    case 'cast':
    case 'reshape':
      // a cast from an integer computes in float32; a float reshape keeps its input's type
      return v.inputs[0]?.dtype === 'int32' ? same('float32') : same(widest(inTypes));
    case 'unary':
      return FLOAT32_UNARY.has((v.attrs as OpAttrs['unary']).fn) ? same('float32') : same(widest(inTypes));
    case 'binary':
      return (v.attrs as OpAttrs['binary']).fn === 'pow' ? same('float32') : same(widest(inTypes));
    case 'where': {
      // the condition is only compared with zero: it keeps its own type
      const t = widest(inTypes.slice(1));
      return { compute: t, inputs: [inTypes[0]], result: t };
    }
    default:
      return same(widest(inTypes));
  }
}

const halfCopies = new WeakMap<LazyValue, Uint16Array>();

/**
 * A float weight as float16 bits, converted once per weight on the host: float16 storage as is; bfloat16
 * and float32 rounded to nearest, refusing a finite value beyond float16's range (it would become Inf).
 * The loaders convert named checkpoint tensors at load (nn/load.ts), so this path only sees weights made
 * in code; its error names the shape.
 */
export function halfWeightBits(v: LazyValue): Uint16Array {
  if (v.storage?.dtype === 'float16') return v.storage.bits;
  let bits = halfCopies.get(v);
  if (bits) return bits;
  const f32 = v.storage ? bf16ToF32(v.storage.bits) : (v.data as Float32Array);
  bits = f32ToF16Checked(f32, (x) => new CheckpointError(`a weight of shape [${v.shape.join(', ')}] holds ${x}, beyond float16's range (±${FLOAT16_MAX}): compute in float32 for this model`));
  halfCopies.set(v, bits);
  return bits;
}
