/**
 * Chunked form of the gated delta rule (the reference's prefill path; same math as the recurrence).
 * Within a chunk of C tokens (G = cumsum of g, Dec[i,j] = exp(G_i - G_j) for j <= i):
 *   A = I + strictly_lower((k*beta) kᵀ ∘ Dec),  T = A⁻¹ (unit lower triangular, inverted by block doubling)
 *   U = T (v*beta),  W = T (k*beta*exp(G))
 * then chunk by chunk: Vn = U - W S;  out = (q*exp(G)) S + ((q kᵀ) ∘ Dec) Vn;
 *   S = S*exp(G_last) + (k*exp(G_last - G))ᵀ Vn.
 */
import * as C from '@sdxs/core';
import type { DeltaRuleResult } from './delta-rule.js';

export const DELTA_CHUNK = 64;

function lowerMask(c: number, strict: boolean): C.Tensor {
  const m = new Float32Array(c * c);
  for (let i = 0; i < c; i++) for (let j = 0; j < c; j++) m[i * c + j] = (strict ? j < i : j <= i) ? 1 : 0;
  return C.tensor(m, [c, c]);
}

/**
 * Inverse of unit lower-triangular matrices a [M, c, c] (c a power of two), by recursive block doubling:
 * inv([[A11, 0], [A21, A22]]) = [[T11, 0], [-T22 A21 T11, T22]]. Every tensor stays rank <= 4 (WebGPU limits).
 */
export function invertUnitLower(a: C.Tensor): C.Tensor {
  const [m, c] = a.shape as [number, number, number];
  const flat = C.reshape(a, [m, c * c]);
  let blocks = C.ones([m, c, 1, 1]);
  for (let s = 1; s < c; s *= 2) {
    const pairs = c / (2 * s);
    const idx = new Int32Array(pairs * s * s);
    for (let p = 0; p < pairs; p++) {
      for (let i = 0; i < s; i++) for (let j = 0; j < s; j++) idx[(p * s + i) * s + j] = ((2 * p + 1) * s + i) * c + 2 * p * s + j;
    }
    const a21 = C.reshape(C.gather(flat, C.tensor(idx, [idx.length], 'int32'), 1), [m, pairs, s, s]);
    const grouped = C.reshape(blocks, [m * pairs, 2, s, s]);
    const t11 = C.reshape(C.sliceAxis(grouped, 1, 0, 1), [m, pairs, s, s]);
    const t22 = C.reshape(C.sliceAxis(grouped, 1, 1, 2), [m, pairs, s, s]);
    const t21 = C.neg(C.matmul(C.matmul(t22, a21), t11));
    const top = C.concat([t11, C.zeros(t11.shape)], 3);
    const bottom = C.concat([t21, t22], 3);
    blocks = C.concat([top, bottom], 2);
  }
  return C.reshape(blocks, [m, c, c]);
}

export function chunkedDeltaRule(q: C.Tensor, k: C.Tensor, v: C.Tensor, g: C.Tensor, beta: C.Tensor, initial: C.Tensor | null, chunk = DELTA_CHUNK): DeltaRuleResult {
  const [b, h, s, dk] = q.shape as [number, number, number, number];
  const dv = v.shape[3]!;
  const c = Math.min(chunk, 1 << Math.ceil(Math.log2(Math.max(s, 1))));
  const n = Math.ceil(s / c);
  const padLen = n * c - s;
  const bh = b * h;
  const m = bh * n;
  // [B, H, S, d] → [B*H*n, c, d] (chunks as a batch axis; ranks stay <= 4)
  const chunks = (t: C.Tensor, d: number): C.Tensor => C.reshape(padLen === 0 ? t : C.pad(t, [[0, padLen], [0, 0]]), [m, c, d]);
  const qc = chunks(q, dk);
  const kc = chunks(k, dk);
  const vc = chunks(v, dv);
  const gc = C.reshape(padLen === 0 ? g : C.pad(g, [[0, padLen]]), [m, c]);
  const betac = C.reshape(padLen === 0 ? beta : C.pad(beta, [[0, padLen]]), [m, c, 1]);

  const G = C.cumsum(gc, -1);
  const Gcol = C.reshape(G, [m, c, 1]);
  const diff = C.where(lowerMask(c, false), C.sub(Gcol, C.reshape(G, [m, 1, c])), -1e30);
  const dec = C.exp(diff);
  const kb = C.mul(kc, betac);
  const vb = C.mul(vc, betac);
  const strict = C.mul(C.mul(C.matmul(kb, kc, false, true), dec), lowerMask(c, true));
  const t = invertUnitLower(C.add(strict, C.tensor(identity(c), [c, c])));
  const eG = C.exp(Gcol);
  const perChunk = (x: C.Tensor): C.Tensor => C.reshape(x, [bh, n, x.shape[1]!, x.shape[2]!]);
  const u = perChunk(C.matmul(t, vb));
  const w = perChunk(C.matmul(t, C.mul(kb, eG)));
  const qg = perChunk(C.mul(qc, eG));
  const qk = perChunk(C.mul(C.matmul(qc, kc, false, true), dec));
  const gLast = C.sliceAxis(Gcol, 1, c - 1, c);
  const kDecay = perChunk(C.mul(kc, C.exp(C.sub(gLast, Gcol))));
  const eLast = perChunk(C.exp(gLast));

  const pick = (x: C.Tensor, i: number): C.Tensor => C.reshape(n === 1 ? x : C.sliceAxis(x, 1, i, i + 1), [bh, x.shape[2]!, x.shape[3]!]);
  let state = initial ? C.reshape(initial, [bh, dk, dv]) : C.zeros([bh, dk, dv]);
  const first = state;
  const outs: C.Tensor[] = [];
  for (let i = 0; i < n; i++) {
    const prev = state;
    const step = C.tidy(() => {
      const vn = C.sub(pick(u, i), C.matmul(pick(w, i), prev));
      const o = C.add(C.matmul(pick(qg, i), prev), C.matmul(pick(qk, i), vn));
      const next = C.add(C.mul(prev, pick(eLast, i)), C.matmul(pick(kDecay, i), vn, true, false));
      return { o, next };
    });
    if (prev !== first) prev.dispose();
    state = step.next;
    outs.push(step.o);
  }
  // outs[i]: [B*H, c, dv] → [B, H, n*c, dv]
  let out = C.reshape(outs.length === 1 ? outs[0]! : C.concat(outs, 1), [b, h, n * c, dv]);
  if (padLen > 0) out = C.sliceAxis(out, 2, 0, s);
  return { out, state: C.reshape(state, [b, h, dk, dv]) };
}

function identity(c: number): Float32Array {
  const m = new Float32Array(c * c);
  for (let i = 0; i < c; i++) m[i * c + i] = 1;
  return m;
}
