import type { KernelInput, KernelOutput } from '../../backend.js';
import { gemmNN, gemmNT } from './matmul.js';
import { softmaxRows } from './reduce.js';
import { broadcastStrides } from './strided.js';

type F = KernelInput<Float32Array>;

export function attentionKernel(q: F, k: F, v: F, mask: F | null, scale: number, causal: boolean, out: KernelOutput): Float32Array {
  const [B, H, Sq, D] = q.shape as [number, number, number, number];
  const Sk = k.shape[2]!;
  const Dv = v.shape[3]!;
  const Y = new Float32Array(B * H * Sq * Dv);
  const scores = new Float32Array(Sq * Sk);
  const probs = new Float32Array(Sq * Sk);
  const ms = mask ? broadcastStrides(mask.shape, [B, H, Sq, Sk]) : null;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const bh = b * H + h;
      gemmNT(q.handle, bh * Sq * D, k.handle, bh * Sk * D, scores, 0, Sq, D, Sk);
      for (let i = 0; i < scores.length; i++) scores[i]! *= scale;
      if (mask && ms) {
        const M = mask.handle;
        for (let i = 0; i < Sq; i++) {
          const mo = b * ms[0]! + h * ms[1]! + i * ms[2]!;
          for (let j = 0; j < Sk; j++) scores[i * Sk + j]! += M[mo + j * ms[3]!]!;
        }
      }
      if (causal) for (let i = 0; i < Sq; i++) for (let j = i + 1 + (Sk - Sq); j < Sk; j++) scores[i * Sk + j] = -Infinity;
      softmaxRows(scores, probs, Sq, Sk);
      gemmNN(probs, 0, v.handle, bh * Sk * Dv, Y, bh * Sq * Dv, Sq, Sk, Dv);
    }
  }
  void out;
  return Y;
}
