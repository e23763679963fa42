import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import * as C from '@sdxs/core';
import { UNet2DConditionModel } from '@sdxs/unet';
import { AsymmetricAutoencoderKL } from '@sdxs/vae';
import { FlowMatchEulerDiscreteScheduler, sampleFlowMatch } from '@sdxs/sampler';
import { expectParity, forEachBackend, PARITY_BACKENDS } from '@sdxs/core/testing';
import { diffusersCase, host, readAll } from '@sdxs/core/testing';

const dir = diffusersCase('pipeline-tiny');
const spec = JSON.parse(readFileSync(path.join(dir, 'case.json'), 'utf8')) as {
  steps: number;
  guidance_scale: number;
  scheduler_shift: number;
  tolerance: { atol: number; rtol: number };
};
const report: string[] = [];
afterAll(() => {
  if (report.length) console.log(`pipeline-tiny parity (max |err|):\n  ${report.join('\n  ')}`);
});

forEachBackend((backend) => {
  test('6-step CFG sampling and the decoded image match diffusers', async () => {
    const io = await readAll(path.join(dir, 'io.safetensors'));
    const unet = await UNet2DConditionModel.fromPretrained(diffusersCase('unet-tiny'));
    const vae = await AsymmetricAutoencoderKL.fromPretrained(diffusersCase('vae-tiny'));
    const scheduler = FlowMatchEulerDiscreteScheduler.fromConfig({ shift: spec.scheduler_shift });
    const before = C.memory().numTensors;
    const steps: number[] = [];
    const latents = await sampleFlowMatch({
      unet,
      scheduler,
      initNoise: io.get('init_noise')!,
      cond: io.get('cond')!,
      condMask: io.get('cond_mask')!,
      uncond: io.get('uncond')!,
      uncondMask: io.get('uncond_mask')!,
      steps: spec.steps,
      guidanceScale: spec.guidance_scale,
      onStep: ({ step }) => {
        steps.push(step);
      },
    });
    expect(steps).toEqual([1, 2, 3, 4, 5, 6]);
    const { atol, rtol } = spec.tolerance;
    const rl = expectParity(await host(latents), await host(io.get('latents')!), backend, atol, rtol, `${backend} latents`);
    // image = (clamp(vae.decode(latents * latents_std + latents_mean), -1, 1) + 1) / 2
    const image = C.tidy(() => C.div(C.add(C.clamp(vae.decode(vae.denormalizeLatents(latents)), -1, 1), 1), 2));
    expect(image.shape).toEqual(io.get('image')!.shape);
    const ri = expectParity(await host(image), await host(io.get('image')!), backend, atol, rtol, `${backend} image`);
    report.push(`${backend}: latents ${rl.maxAbs.toExponential(2)} (/ max |ref| ${rl.rel.toExponential(2)}), image ${ri.maxAbs.toExponential(2)} (/ max |ref| ${ri.rel.toExponential(2)}) (atol ${atol}, rtol ${rtol})`);
    C.dispose([latents, image]);
    expect(C.memory().numTensors).toBe(before);
    unet.dispose();
    vae.dispose();
    C.dispose([...io.values()]);
  });
}, {
  backends: PARITY_BACKENDS,
  exclude: {
    'tfjs-webgpu':
      'the 6-step loop (12 UNet evaluations + a VAE decode) takes minutes on SwiftShader; the UNet and the VAE each pass their own fixture parity on tfjs-webgpu',
  },
});
