import { expect } from 'vitest';
import { budgetOf, type ReducedBudgets, reducedPrecision, relL2Error, relMaxError } from './backends.js';

export interface CloseReport {
  /** max |actual - expected| over finite pairs */
  maxAbs: number;
  /** index of the worst element relative to the bound atol + rtol*|expected| (-1 if none) */
  worst: number;
  /** number of elements outside the bound, including NaN/Inf disagreements */
  bad: number;
  /** first index where NaN/±Inf do not agree (-1 if none) */
  special: number;
}

/** Largest absolute difference over positions where both are finite. */
export function maxAbsDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let m = 0;
  const n = Math.min(actual.length, expected.length);
  for (let i = 0; i < n; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    if (Number.isFinite(d) && d > m) m = d;
  }
  return m;
}

/** Elementwise |a - e| <= atol + rtol*|e|, with NaN matching NaN and ±Inf matching exactly. */
export function compareClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol: number): CloseReport {
  let worst = -1;
  let worstRatio = 0;
  let bad = 0;
  let special = -1;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (!Number.isFinite(e) || !Number.isFinite(a)) {
      const same = Number.isNaN(e) ? Number.isNaN(a) : a === e;
      if (!same) {
        bad++;
        if (special < 0) special = i;
      }
      continue;
    }
    const bound = atol + rtol * Math.abs(e);
    const ratio = Math.abs(a - e) / (bound || Number.MIN_VALUE);
    if (ratio > 1) bad++;
    if (ratio > worstRatio) {
      worstRatio = ratio;
      worst = i;
    }
  }
  return { maxAbs: maxAbsDiff(actual, expected), worst, bad, special };
}

/** Assert closeness; the failure message gives the max error and the first disagreeing elements. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol = 1e-5, rtol = 1e-5, label = ''): CloseReport {
  expect(actual.length, `${label} length`).toBe(expected.length);
  const r = compareClose(actual, expected, atol, rtol);
  if (r.bad > 0) {
    const at = (i: number): string => (i < 0 ? '-' : `[${i}] actual ${actual[i]} expected ${expected[i]}`);
    const msg =
      `${label} ${r.bad}/${expected.length} elements outside atol=${atol} rtol=${rtol}; ` +
      `max abs error ${r.maxAbs.toExponential(3)}; worst ${at(r.worst)}; NaN/Inf mismatch ${at(r.special)}`;
    expect.fail(msg.trim());
  }
  return r;
}

/**
 * The parity check of a backend spec (see backends.ts): float32 backends within the fixture's atol/rtol,
 * float16 compute (`name:float16`) within HALF_BUDGET and int8 products (`name:int8`) within INT8_BUDGET of
 * max |expected| (or the given budgets). Returns both measures for reports.
 */
export function expectParity(actual: ArrayLike<number>, expected: ArrayLike<number>, spec: string, atol: number, rtol: number, label = '', budgets: ReducedBudgets = {}): { maxAbs: number; rel: number } {
  const rel = relMaxError(actual, expected);
  const p = reducedPrecision(spec);
  if (p === null) return { maxAbs: expectClose(actual, expected, atol, rtol, label).maxAbs, rel };
  const budget = budgetOf(spec, budgets);
  expect(actual.length, `${label} length`).toBe(expected.length);
  if (p === 'int8') {
    const l2 = relL2Error(actual, expected);
    console.log(`[int8] ${label}: rel L2 ${l2.toExponential(2)}, rel max ${rel.toExponential(2)}`);
    expect(l2, `${label}: int8 ‖err‖ / ‖ref‖ = ${l2} exceeds ${budget}`).toBeLessThanOrEqual(budget);
    return { maxAbs: maxAbsDiff(actual, expected), rel };
  }
  expect(rel, `${label}: ${p} max |err| / max |ref| = ${rel} exceeds ${budget}`).toBeLessThanOrEqual(budget);
  return { maxAbs: maxAbsDiff(actual, expected), rel };
}
