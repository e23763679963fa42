/**
 * The gated delta rule of Gated DeltaNet, batched over (batch, value head). Inputs are head-major:
 * q, k [B, H, S, dk] (already l2-normalised, q scaled), v [B, H, S, dv], g (log-decay) and beta [B, H, S].
 * Per token: S = S*exp(g); kv = Sᵀk; S += k ⊗ (v - kv)*beta; o = Sᵀq.
 */
import * as C from '@sdxs/core';

export interface DeltaRuleResult {
  /** [B, H, S, dv] */
  out: C.Tensor;
  /** state after the last token [B, H, dk, dv] */
  state: C.Tensor;
}

/** Token-by-token recurrence (what a decode step runs; also correct for any length). */
export function recurrentDeltaRule(q: C.Tensor, k: C.Tensor, v: C.Tensor, g: C.Tensor, beta: C.Tensor, initial: C.Tensor | null): DeltaRuleResult {
  const [b, h, s, dk] = q.shape as [number, number, number, number];
  const dv = v.shape[3]!;
  const decay = C.reshape(C.exp(g), [b, h, s, 1]);
  const beta4 = C.reshape(beta, [b, h, s, 1]);
  const qs = s === 1 ? [q] : C.split(q, s, 2);
  const ks = s === 1 ? [k] : C.split(k, s, 2);
  const vs = s === 1 ? [v] : C.split(v, s, 2);
  const ds = s === 1 ? [decay] : C.split(decay, s, 2);
  const bs = s === 1 ? [beta4] : C.split(beta4, s, 2);
  let state = initial ?? C.zeros([b, h, dk, dv]);
  const outs: C.Tensor[] = [];
  for (let t = 0; t < s; t++) {
    const prev = state;
    const step = C.tidy(() => {
      const kt = ks[t]!;
      const decayed = C.mul(prev, ds[t]!);
      const kv = C.matmul(kt, decayed);
      const delta = C.mul(C.sub(vs[t]!, kv), bs[t]!);
      const next = C.add(decayed, C.matmul(kt, delta, true, false));
      return { next, o: C.matmul(qs[t]!, next) };
    });
    if (prev !== initial) prev.dispose();
    state = step.next;
    outs.push(step.o);
  }
  const out = outs.length === 1 ? outs[0]! : C.concat(outs, 2);
  if (outs.length > 1) for (const o of outs) o.dispose();
  return { out, state };
}
