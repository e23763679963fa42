/** Next-token selection: greedy argmax on the device (one int read), or host sampling with temperature / top-k / top-p. */
import * as C from '@sdxs/core';

export interface SamplingOptions {
  /** Sample instead of taking the argmax (default false). */
  doSample?: boolean;
  /** Softmax temperature (default 1). */
  temperature?: number;
  /** Keep the k most likely tokens (0 or undefined: all). */
  topK?: number;
  /** Keep the smallest set of tokens whose probability reaches p (1 or undefined: all). */
  topP?: number;
}

/** Index of the first maximum of each row of logits [N, V] → int32 [N], computed on the device. */
export function argmaxRows(logits: C.Tensor): C.Tensor {
  return C.tidy(() => {
    const v = logits.shape[logits.rank - 1]!;
    const isMax = C.equal(logits, C.max(logits, -1, true));
    const index = C.arange(0, v, 1, 'float32');
    return C.cast(C.min(C.where(isMax, index, v), -1), 'int32');
  });
}

/** Draws one token from host logits (one row) with the transformers warper order: temperature, top-k, top-p. */
export function sampleFromLogits(logits: Float32Array, opts: SamplingOptions, rng: C.RandomGenerator): number {
  const temperature = opts.temperature ?? 1;
  if (!(temperature > 0)) throw new C.InputError(`temperature must be > 0, got ${temperature}`);
  const n = logits.length;
  let order = Array.from({ length: n }, (_, i) => i).filter((i) => !Number.isNaN(logits[i]!));
  order.sort((a, b) => logits[b]! - logits[a]! || a - b);
  const topK = opts.topK ?? 0;
  if (topK > 0 && topK < order.length) order = order.slice(0, topK);
  const maxLogit = logits[order[0]!]! / temperature;
  const probs = order.map((i) => Math.exp(logits[i]! / temperature - maxLogit));
  let total = probs.reduce((a, b) => a + b, 0);
  const topP = opts.topP ?? 1;
  if (topP < 1) {
    // keep tokens while the cumulative probability before them is below topP (at least one)
    let cum = 0;
    let keep = 0;
    while (keep < probs.length && (keep === 0 || cum < topP * total)) cum += probs[keep++]!;
    order = order.slice(0, keep);
    probs.length = keep;
    total = cum;
  }
  let r = rng.uniform() * total;
  for (let i = 0; i < probs.length; i++) {
    r -= probs[i]!;
    if (r < 0) return order[i]!;
  }
  return order[order.length - 1]!;
}
