import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import * as C from '@sdxs/core';
import { UNet2DConditionModel } from '@sdxs/unet';
import { expectParity, forEachBackend, PARITY_BACKENDS } from '@sdxs/core/testing';
import { diffusersCase, host, readAll } from '@sdxs/core/testing';

const report: string[] = [];
afterAll(() => {
  if (report.length) console.log(`UNet parity (max |err|):\n  ${report.join('\n  ')}`);
});

forEachBackend((backend) => {
  test.each(['unet-tiny', 'unet-tiny-linear'])('%s matches diffusers', async (caseName) => {
    const dir = diffusersCase(caseName);
    const tol = JSON.parse(readFileSync(path.join(dir, 'case.json'), 'utf8')).tolerance as { atol: number; rtol: number };
    const io = await readAll(path.join(dir, 'io.safetensors'));
    const unet = await UNet2DConditionModel.fromPretrained(dir);
    const before = C.memory().numTensors;
    const out = unet.forward(io.get('sample')!, io.get('timestep')!, io.get('encoder_hidden_states')!, io.get('encoder_attention_mask')!);
    expect(out.shape).toEqual(io.get('out')!.shape);
    const r = expectParity(await host(out), await host(io.get('out')!), backend, tol.atol, tol.rtol, `${backend} ${caseName}`);
    report.push(`${backend} ${caseName}: ${r.maxAbs.toExponential(2)}, / max |ref| ${r.rel.toExponential(2)} (atol ${tol.atol}, rtol ${tol.rtol})`);
    out.dispose();
    expect(C.memory().numTensors).toBe(before);
    unet.dispose();
    C.dispose([...io.values()]);
  });
}, { backends: PARITY_BACKENDS });
