import { afterAll, beforeAll, expect, test } from 'vitest';
import * as C from '@sdxs/core';
import { FlowMatchEulerDiscreteScheduler, FlowMatchHeunDiscreteScheduler, linspace, type FlowScheduler } from '@sdxs/sampler';

// dx/dσ = v(x, σ), integrated from σ = 1 to 0: nonlinear in x and explicitly σ-dependent.
const field = (x: number, s: number): number => Math.sin(2 * x) + s * s * x - 0.5 * s;
const x1 = [0.9, -1.3, 0.2, 2.1];

/** Many-step explicit Euler in float64: the reference solution at σ = 0. */
function eulerReference(steps: number): number[] {
  return x1.map((x0) => {
    let x = x0;
    const h = 1 / steps;
    for (let k = 0; k < steps; k++) x += -h * field(x, 1 - k * h);
    return x;
  });
}

/** Runs a scheduler on the analytic field with n uniform steps (custom sigmas 1, …, 1/n; shift 1). */
async function solve(s: FlowScheduler, n: number): Promise<number[]> {
  s.setTimesteps(n, { sigmas: linspace(1, 1 / n, n) });
  let x = C.tensor(x1, [x1.length]);
  for (let i = 0; i < s.timesteps.length; i++) {
    const t = s.timesteps[i]!;
    const xs = await x.data();
    const sigma = t / 1000;
    const v = C.tensor(Array.from(xs, (xi) => field(xi, sigma)), [x1.length]);
    const next = s.step(v, t, x);
    C.dispose([v, x]);
    x = next;
  }
  const out = Array.from(await x.data());
  x.dispose();
  return out;
}

let reference: number[];
const lines: string[] = [];
beforeAll(async () => {
  await C.setBackend('cpu');
  reference = eulerReference(4_000_000);
  const coarser = eulerReference(2_000_000);
  lines.push(`reference: 4e6-step Euler; its own error ≈ ${Math.max(...reference.map((r, i) => Math.abs(r - coarser[i]!))).toExponential(2)}`);
});
afterAll(() => console.log(`convergence on dx/dσ = sin 2x + σ²x − σ/2:\n  ${lines.join('\n  ')}`));

const err = (a: number[]): number => Math.max(...a.map((v, i) => Math.abs(v - reference[i]!)));

test.each([
  ['Euler', 1, (): FlowScheduler => FlowMatchEulerDiscreteScheduler.fromConfig({ shift: 1 })],
  ['Heun', 2, (): FlowScheduler => FlowMatchHeunDiscreteScheduler.fromConfig({ shift: 1 })],
] as const)('%s converges with order %i', async (name, order, make) => {
  const ns = [8, 16, 32, 64, 128];
  const errors: number[] = [];
  for (const n of ns) errors.push(err(await solve(make(), n)));
  const orders = errors.slice(1).map((e, i) => Math.log2(errors[i]! / e));
  lines.push(`${name}: steps ${ns.join('/')} → max error ${errors.map((e) => e.toExponential(2)).join(' / ')}; observed order ${orders.map((o) => o.toFixed(2)).join(', ')}`);
  // asymptotic range (the coarsest pair is pre-asymptotic for Heun)
  for (const o of orders.slice(1)) expect(Math.abs(o - order)).toBeLessThan(0.2);
});
