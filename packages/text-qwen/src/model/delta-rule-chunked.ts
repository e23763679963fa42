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

/** Inverse of unit lower-triangular matrices a [..., c, c] (c a power of two), by recursive block doubling. */
export function invertUnitLower(a: C.Tensor): C.Tensor {
  const c = a.shape[a.rank - 1]!;
  const lead = a.shape.slice(0, -2);
  const flat = C.reshape(a, [...lead, c * c]);
  let blocks = C.ones([...lead, c, 1, 1]);
  for (let s = 1; s < c; s *= 2) {
    const pairs = c / (2 * s);
    const idx = new Int32Array(pairs * s * s);
    for (let p = 0; p < pairs; p++) {
      for (let i = 0; i < s; i++) for (let j = 0; j < s; j++) idx[(p * s + i) * s + j] = ((2 * p + 1) * s + i) * c + 2 * p * s + j;
    }
    const a21 = C.reshape(C.gather(flat, C.tensor(idx, [idx.length], 'int32'), lead.length), [...lead, pairs, s, s]);
    const grouped = C.reshape(blocks, [...lead, pairs, 2, s, s]);
    const t11 = C.squeeze(C.sliceAxis(grouped, lead.length + 1, 0, 1), lead.length + 1);
    const t22 = C.squeeze(C.sliceAxis(grouped, lead.length + 1, 1, 2), lead.length + 1);
    const t21 = C.neg(C.matmul(C.matmul(t22, a21), t11));
    const top = C.concat([t11, C.zeros(t11.shape)], -1);
    const bottom = C.concat([t21, t22], -1);
    blocks = C.concat([top, bottom], -2);
  }
  return C.reshape(blocks, [...lead, c, c]);
}

export function chunkedDeltaRule(q: C.Tensor, k: C.Tensor, v: C.Tensor, g: C.Tensor, beta: C.Tensor, initial: C.Tensor | null, chunk = DELTA_CHUNK): DeltaRuleResult {
  const [b, h, s, dk] = q.shape as [number, number, number, number];
  const dv = v.shape[3]!;
  const c = Math.min(chunk, 1 << Math.ceil(Math.log2(Math.max(s, 1))));
  const n = Math.ceil(s / c);
  const padLen = n * c - s;
  const padSeq = (t: C.Tensor): C.Tensor => (padLen === 0 ? t : C.pad(t, t.rank === 4 ? [[0, padLen], [0, 0]] : [[0, padLen]]));
  const qc = C.reshape(padSeq(q), [b, h, n, c, dk]);
  const kc = C.reshape(padSeq(k), [b, h, n, c, dk]);
  const vc = C.reshape(padSeq(v), [b, h, n, c, dv]);
  const gc = C.reshape(padSeq(g), [b, h, n, c]);
  const betac = C.reshape(padSeq(beta), [b, h, n, c, 1]);

  const G = C.cumsum(gc, -1);
  const Gcol = C.reshape(G, [b, h, n, c, 1]);
  const lowerIncl = lowerMask(c, false);
  const diff = C.where(lowerIncl, C.sub(Gcol, C.reshape(G, [b, h, n, 1, c])), -1e30);
  const dec = C.exp(diff);
  const kb = C.mul(kc, betac);
  const vb = C.mul(vc, betac);
  const strict = C.mul(C.mul(C.matmul(kb, kc, false, true), dec), lowerMask(c, true));
  const t = invertUnitLower(C.add(strict, C.reshape(C.tensor(identity(c), [c, c]), [c, c])));
  const eG = C.exp(Gcol);
  const u = C.matmul(t, vb);
  const w = C.matmul(t, C.mul(kb, eG));
  const qg = C.mul(qc, eG);
  const qk = C.mul(C.matmul(qc, kc, false, true), dec);
  const gLast = C.sliceAxis(Gcol, 3, c - 1, c);
  const kDecay = C.mul(kc, C.exp(C.sub(gLast, Gcol)));
  const eLast = C.exp(gLast);

  const pick = (x: C.Tensor, i: number): C.Tensor => (n === 1 ? C.squeeze(x, 2) : C.squeeze(C.sliceAxis(x, 2, i, i + 1), 2));
  let state = initial ?? C.zeros([b, h, dk, dv]);
  const outs: C.Tensor[] = [];
  for (let i = 0; i < n; i++) {
    const prev = state;
    const step = C.tidy(() => {
      const vn = C.sub(pick(u, i), C.matmul(pick(w, i), prev));
      const o = C.add(C.matmul(pick(qg, i), prev), C.matmul(pick(qk, i), vn));
      const next = C.add(C.mul(prev, pick(eLast, i)), C.matmul(pick(kDecay, i), vn, true, false));
      return { o, next };
    });
    if (prev !== initial) prev.dispose();
    state = step.next;
    outs.push(step.o);
  }
  let out = outs.length === 1 ? outs[0]! : C.concat(outs, 2);
  if (padLen > 0) out = C.sliceAxis(out, 2, 0, s);
  return { out, state };
}

function identity(c: number): Float32Array {
  const m = new Float32Array(c * c);
  for (let i = 0; i < c; i++) m[i * c + i] = 1;
  return m;
}
