import type { TfContext, TfKernels, T } from './types.js';
import { conv2dTf } from './conv.js';

type NnKernels = Pick<TfKernels, 'matmul' | 'conv2d' | 'groupNorm' | 'layerNorm' | 'rmsNorm' | 'attention' | 'upsampleNearest'>;

/** PyTorch 'nearest' source index: floor(dst * float32(in / out)), clamped. */
function nearestIndex(inSize: number, outSize: number): Int32Array {
  const s = Math.fround(inSize / outSize);
  return Int32Array.from({ length: outSize }, (_, j) => Math.min(Math.floor(Math.fround(j * s)), inSize - 1));
}
const isRepeat = (idx: Int32Array, inSize: number): boolean =>
  idx.length % inSize === 0 && idx.every((v, j) => v === Math.floor(j / (idx.length / inSize)));

export function nnKernels(ctx: TfContext): NnKernels {
  const { tf } = ctx;
  /** (x - mean) * rsqrt(var + eps) over `axis` of a tensor (two-pass, like the oracle). */
  const standardize = (x: T, axis: number, eps: number): T => {
    const xc = tf.sub(x, tf.mean(x, axis, true));
    return tf.mul(xc, tf.rsqrt(tf.add(tf.mean(tf.square(xc), axis, true), eps)));
  };
  return {
    matmul: ([a, b], { transposeA, transposeB }, out) => {
      const A = a!;
      const B = b!;
      const k = transposeA ? A.shape[A.shape.length - 2]! : A.shape[A.shape.length - 1]!;
      if (k === 0) return tf.zeros([...out.shape]);
      const batch = out.shape.slice(0, -2);
      const sameBatch = (s: readonly number[]): boolean => s.length - 2 === batch.length && batch.every((d, i) => d === s[i]);
      if (batch.length === 0 || (sameBatch(A.shape) && sameBatch(B.shape))) return tf.matMul(A.handle, B.handle, transposeA, transposeB);
      // tfjs's own batch broadcasting is wrong for some shapes ([2,1,4,6] x [3,6,5]): broadcast explicitly
      const flat = (t: T, s: readonly number[]): T => tf.reshape(tf.broadcastTo(t, [...batch, ...s.slice(-2)]), [-1, ...s.slice(-2)]);
      return tf.reshape(tf.matMul(flat(A.handle, A.shape), flat(B.handle, B.shape), transposeA, transposeB), [...out.shape]);
    },
    conv2d: ([x, w, b], attrs) => conv2dTf(ctx, x!, w!, b, attrs),
    groupNorm: ([x, w, b], { groups, eps }) => {
      const X = x!;
      const [N, C] = X.shape as [number, number];
      let y = tf.reshape(standardize(tf.reshape(X.handle, [N, groups, -1]), 2, eps), [N, C, -1]);
      if (w) y = tf.mul(y, tf.reshape(w.handle, [C, 1]));
      if (b) y = tf.add(y, tf.reshape(b.handle, [C, 1]));
      return tf.reshape(y, [...X.shape]);
    },
    layerNorm: ([x, w, b], { eps }) => {
      let y = standardize(x!.handle, -1, eps);
      if (w) y = tf.mul(y, w.handle);
      if (b) y = tf.add(y, b.handle);
      return y;
    },
    rmsNorm: ([x, w], { eps, unitOffset }) => {
      const X = x!.handle;
      const y = tf.mul(X, tf.rsqrt(tf.add(tf.mean(tf.square(X), -1, true), eps)));
      return w ? tf.mul(y, unitOffset ? tf.add(w.handle, 1) : w.handle) : y;
    },
    attention: ([q, k, v, mask], { scale, causal }) => {
      let s = tf.mul(tf.matMul(q!.handle, k!.handle, false, true), scale);
      if (mask) s = tf.add(s, mask.handle);
      if (causal) {
        const sq = q!.shape[2]!;
        const sk = k!.shape[2]!;
        const row = tf.reshape(tf.range(sk - sq, sk, 1, 'int32'), [sq, 1]);
        const col = tf.reshape(tf.range(0, sk, 1, 'int32'), [1, sk]);
        s = tf.add(s, tf.where(tf.greater(col, row), tf.fill([sq, sk], -Infinity), tf.zeros([sq, sk])));
      }
      return tf.matMul(tf.softmax(s), v!.handle);
    },
    upsampleNearest: ([x], { size }) => {
      const X = x!;
      const r = X.shape.length;
      const [H, W] = [X.shape[r - 2]!, X.shape[r - 1]!];
      const ih = nearestIndex(H, size[0]);
      const iw = nearestIndex(W, size[1]);
      if (isRepeat(ih, H) && isRepeat(iw, W)) {
        const lead = X.shape.slice(0, -2);
        const sh = size[0] / H;
        const sw = size[1] / W;
        // Rank 4 (leading dims merged): tfjs-webgpu's Tile kernel falls back to a synchronous CPU read above rank 4.
        const rows = lead.reduce((a, b) => a * b, 1) * H;
        const x4 = tf.reshape(X.handle, [rows, 1, W, 1]);
        return tf.reshape(tf.broadcastTo(x4, [rows, sh, W, sw]), [...lead, size[0], size[1]]);
      }
      return tf.gather(tf.gather(X.handle, tf.tensor1d(ih, 'int32'), r - 2), tf.tensor1d(iw, 'int32'), r - 1);
    },
  };
}
