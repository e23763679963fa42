import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import * as C from '@sdxs/core';
import { FlowMatchEulerDiscreteScheduler } from '@sdxs/sampler';
import { expectClose, expectParity, forEachBackend, maxAbsDiff, PARITY_BACKENDS } from '@sdxs/core/testing';
import { diffusersCase, host, readAll } from '@sdxs/core/testing';

const dir = diffusersCase('scheduler-flow-shift5');
const tol = JSON.parse(readFileSync(path.join(dir, 'case.json'), 'utf8')).tolerance as { atol: number; rtol: number };
const report: string[] = [];
afterAll(() => {
  if (report.length) console.log(`scheduler parity (max |err|):\n  ${report.join('\n  ')}`);
});

test.each([40, 20, 1])('set_timesteps(%i): timesteps and sigmas equal diffusers', async (n) => {
  await C.setBackend('cpu');
  const io = await readAll(path.join(dir, 'io.safetensors'));
  const s = await FlowMatchEulerDiscreteScheduler.fromPretrained(dir);
  expect(s.config.shift).toBe(5);
  s.setTimesteps(n);
  const t = await host(io.get(`timesteps_${n}`)!);
  const sig = await host(io.get(`sigmas_${n}`)!);
  expect(s.timesteps.length).toBe(n);
  expect(s.sigmas.length).toBe(n + 1);
  expectClose(s.timesteps, t, tol.atol * 1000, tol.rtol, `timesteps_${n}`);
  expectClose(s.sigmas, sig, tol.atol, tol.rtol, `sigmas_${n}`);
  report.push(`n=${n}: timesteps ${maxAbsDiff(s.timesteps, t).toExponential(2)}, sigmas ${maxAbsDiff(s.sigmas, sig).toExponential(2)}`);
  C.dispose([...io.values()]);
});

forEachBackend((backend) => {
  test('40-step Euler trajectory equals diffusers', async () => {
    const io = await readAll(path.join(dir, 'io.safetensors'));
    const s = await FlowMatchEulerDiscreteScheduler.fromPretrained(dir);
    s.setTimesteps(40);
    const before = C.memory().numTensors;
    let x = C.add(io.get('x_init')!, 0);
    for (let i = 0; i < 40; i++) {
      const next = s.step(io.get(`v_${i}`)!, s.timesteps[i]!, x);
      x.dispose();
      x = next;
    }
    const r = expectParity(await host(x), await host(io.get('x_final')!), backend, tol.atol, tol.rtol, `${backend} x_final`);
    report.push(`${backend} x_final: ${r.maxAbs.toExponential(2)}`);
    x.dispose();
    expect(C.memory().numTensors).toBe(before);
    C.dispose([...io.values()]);
  });
}, { backends: PARITY_BACKENDS });
