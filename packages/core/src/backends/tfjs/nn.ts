import type { TfContext, TfKernels, T } from './types.js';
import { conv2dTf } from './conv.js';

/** Memory knobs of the tfjs backends (mutable): attention score elements per query block (64 Mi floats = 256 MiB). */
export const tfjsLimits = { attentionScores: 64 * 2 ** 20 };

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
    conv2d: ([x, w, b], attrs) => conv2dTf(ctx, x!, w!, b ?? null, attrs),
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
      const [B, H, Sq] = q!.shape as [number, number, number];
      const Sk = k!.shape[2]!;
      // Query blocks bound the score matrix (B·H·rows·Sk floats) instead of materialising all of it:
      // at a 64x64 latent one full matrix is B·H·4096² floats (≈ 2 GB for 10 heads, batch 2).
      const rows = Math.max(1, Math.min(Sq, Math.floor(tfjsLimits.attentionScores / (B * H * Sk))));
      const maskRows = mask ? mask.shape[mask.shape.length - 2] ?? 1 : 1;
      const block = (start: number, n: number): T =>
        tf.tidy(() => {
          const qb = n === Sq ? q!.handle : tf.slice(q!.handle, [0, 0, start, 0], [-1, -1, n, -1]);
          let s = tf.mul(tf.matMul(qb, k!.handle, false, true), scale);
          if (mask) {
            const m = maskRows > 1 && n !== Sq ? tf.slice(mask.handle, [...mask.shape.slice(0, -2).map(() => 0), start, 0], [...mask.shape.slice(0, -2).map(() => -1), n, -1]) : mask.handle;
            s = tf.add(s, m);
          }
          if (causal) {
            const row = tf.reshape(tf.range(Sk - Sq + start, Sk - Sq + start + n, 1, 'int32'), [n, 1]);
            const col = tf.reshape(tf.range(0, Sk, 1, 'int32'), [1, Sk]);
            s = tf.add(s, tf.where(tf.greater(col, row), tf.fill([n, Sk], -Infinity), tf.zeros([n, Sk])));
          }
          return tf.matMul(tf.softmax(s), v!.handle);
        });
      if (rows >= Sq) return block(0, Sq);
      const parts: T[] = [];
      for (let start = 0; start < Sq; start += rows) parts.push(block(start, Math.min(rows, Sq - start)));
      return tf.concat(parts, 2);
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
