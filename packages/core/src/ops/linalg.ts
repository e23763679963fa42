import { runOp } from '../engine.js';
import { DTypeError, ShapeError } from '../errors.js';
import { broadcastShapes, fmtShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { add } from './elementwise.js';
import { reshape } from './shape.js';

/** Batched matrix product with broadcast batch dims; 1-D operands are promoted like NumPy. */
export function matmul(a: Tensor, b: Tensor, transposeA = false, transposeB = false): Tensor {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') throw new DTypeError(`matmul needs float32 operands, got ${a.dtype} and ${b.dtype}`);
  if (a.rank === 1 || b.rank === 1) {
    const a2 = a.rank === 1 ? reshape(a, [1, a.shape[0]!]) : a;
    const b2 = b.rank === 1 ? reshape(b, [b.shape[0]!, 1]) : b;
    const r = matmul(a2, b2, a.rank === 1 ? false : transposeA, b.rank === 1 ? false : transposeB);
    const shape = [...r.shape];
    if (b.rank === 1) shape.splice(shape.length - 1, 1);
    if (a.rank === 1) shape.splice(shape.length - (b.rank === 1 ? 1 : 2), 1);
    const out = reshape(r, shape);
    for (const t of [a2, b2, r]) if (t !== a && t !== b) t.dispose();
    return out;
  }
  const [m, ka] = transposeA ? [a.shape[a.rank - 1]!, a.shape[a.rank - 2]!] : [a.shape[a.rank - 2]!, a.shape[a.rank - 1]!];
  const [kb, n] = transposeB ? [b.shape[b.rank - 1]!, b.shape[b.rank - 2]!] : [b.shape[b.rank - 2]!, b.shape[b.rank - 1]!];
  if (ka !== kb) throw new ShapeError(`matmul inner dimensions differ: ${fmtShape(a.shape)}${transposeA ? 'ᵀ' : ''} x ${fmtShape(b.shape)}${transposeB ? 'ᵀ' : ''}`);
  const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
  return runOp('matmul', [a, b], { transposeA, transposeB }, [...batch, m, n], 'float32');
}

/** y = x Wᵀ + b with PyTorch's Linear layout (weight [out, in]). */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  if (x.shape[x.rank - 1] !== weight.shape[1]) {
    throw new ShapeError(`linear: input ${fmtShape(x.shape)} does not match weight ${fmtShape(weight.shape)} (in features ${weight.shape[1]})`);
  }
  const x2 = x.rank === 2 ? x : reshape(x, [-1, x.shape[x.rank - 1]!]);
  const y = matmul(x2, weight, false, true);
  if (x2 !== x) x2.dispose();
  let out = y;
  if (bias) {
    out = add(y, bias);
    y.dispose();
  }
  if (x.rank === 2) return out;
  const r = reshape(out, [...x.shape.slice(0, -1), weight.shape[0]!]);
  out.dispose();
  return r;
}
