/** Sigma schedules shared by the flow-matching schedulers, reproducing diffusers' float64/float32 arithmetic. */
import { betaPpf } from './beta-ppf.js';

/** numpy.linspace(start, stop, num) in float64 (endpoint included, last value exactly `stop`). */
export function linspace(start: number, stop: number, num: number): number[] {
  if (num <= 0) return [];
  if (num === 1) return [start];
  const step = (stop - start) / (num - 1);
  const out = Array.from({ length: num }, (_, i) => i * step + start);
  out[num - 1] = stop;
  return out;
}

/** Karras et al. (2022) schedule between the first and last input sigma (rho = 7). */
export function karrasSigmas(inSigmas: readonly number[], n: number): number[] {
  const sMin = inSigmas[inSigmas.length - 1]!;
  const sMax = inSigmas[0]!;
  const rho = 7;
  const minInv = sMin ** (1 / rho);
  const maxInv = sMax ** (1 / rho);
  return linspace(0, 1, n).map((r) => (maxInv + r * (minInv - maxInv)) ** rho);
}

/** Log-uniform schedule between the first and last input sigma. */
export function exponentialSigmas(inSigmas: readonly number[], n: number): number[] {
  const sMin = inSigmas[inSigmas.length - 1]!;
  const sMax = inSigmas[0]!;
  return linspace(Math.log(sMax), Math.log(sMin), n).map(Math.exp);
}

/** "Beta Sampling is All You Need" (Lee et al., 2024): Beta(0.6, 0.6) quantiles between the end sigmas. */
export function betaSigmas(inSigmas: readonly number[], n: number, alpha = 0.6, beta = 0.6): number[] {
  const sMin = inSigmas[inSigmas.length - 1]!;
  const sMax = inSigmas[0]!;
  return linspace(0, 1, n).map((r) => sMin + betaPpf(1 - r, alpha, beta) * (sMax - sMin));
}

/** The static shift s' = shift·s / (1 + (shift − 1)·s). `f` rounds each operation (Math.fround for float32 inputs). */
export function shiftSigma(s: number, shift: number, f: (x: number) => number = (x) => x): number {
  return f(f(f(shift) * s) / f(1 + f(f(shift - 1) * s)));
}

/** Resolution-dependent time shift: exp(mu) / (exp(mu) + (1/t − 1)^sigma) or, linear, mu / (mu + (1/t − 1)^sigma). */
export function timeShift(type: 'exponential' | 'linear', mu: number, sigma: number, t: number, f: (x: number) => number = (x) => x): number {
  const m = type === 'exponential' ? Math.exp(mu) : mu;
  return f(f(m) / f(f(m) + f(f(f(1 / t) - 1) ** sigma)));
}

/** Stretch so that the last sigma equals `terminal`: 1 − (1 − s) / ((1 − s_last) / (1 − terminal)). */
export function stretchToTerminal(sigmas: readonly number[], terminal: number, f: (x: number) => number = (x) => x): number[] {
  const oneMinus = sigmas.map((s) => f(1 - s));
  const scale = f(oneMinus[oneMinus.length - 1]! / f(1 - terminal));
  return oneMinus.map((z) => f(1 - f(z / scale)));
}
