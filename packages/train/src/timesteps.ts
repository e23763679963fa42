import type { RandomGenerator } from '@sdxs/core';

export interface TimestepSampling {
  /** 'uniform' t ~ U(0, 1) or 'logit-normal' t = sigmoid(N(mean, std)) (default 'uniform'). */
  kind?: 'uniform' | 'logit-normal';
  mean?: number;
  std?: number;
  /** The scheduler's shift (FlowMatchEulerDiscreteScheduler `shift`; 1 = none). */
  shift?: number;
}

/** The scheduler's time shift s = shift * t / (1 + (shift - 1) * t). */
export function shiftSigma(t: number, shift: number): number {
  return (shift * t) / (1 + (shift - 1) * t);
}

/** Draw one sigma in (0, 1) from the host generator (so a resumed run draws the same values). */
export function sampleSigma(rng: RandomGenerator, s: TimestepSampling = {}): number {
  let t: number;
  if ((s.kind ?? 'uniform') === 'uniform') t = rng.uniform();
  else t = 1 / (1 + Math.exp(-((s.mean ?? 0) + (s.std ?? 1) * rng.normal())));
  return shiftSigma(t, s.shift ?? 1);
}
