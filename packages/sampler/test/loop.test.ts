import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import * as C from '@sdxs/core';
import { UNet2DConditionModel } from '@sdxs/unet';
import { FlowMatchEulerDiscreteScheduler, FlowMatchHeunDiscreteScheduler, initNoise, sampleFlowMatch, type Denoiser } from '@sdxs/sampler';
import { expectClose, maxAbsDiff } from '@sdxs/core/testing';
import { diffusersCase, host, readAll } from '@sdxs/core/testing';

/** v = (mean of the text states of each item) + 0.1·x, and a log of what it was called with. */
class MockUNet implements Denoiser {
  calls: { batch: number; timestep: number; contextMeans: number[]; masked: boolean }[] = [];
  forward(sample: C.Tensor, timestep: number | C.Tensor, ctx: C.Tensor, mask?: C.Tensor | null): C.Tensor {
    const b = sample.shape[0]!;
    const m = C.mean(ctx, [1, 2]);
    const means = Array.from(m.dataSync() as Float32Array);
    m.dispose();
    this.calls.push({ batch: b, timestep: timestep as number, contextMeans: means, masked: !!mask });
    return C.tidy(() => C.add(C.mul(sample, 0.1), C.reshape(C.tensor(means, [b]), [b, 1, 1, 1])));
  }
}

const scheduler = (): FlowMatchEulerDiscreteScheduler => FlowMatchEulerDiscreteScheduler.fromConfig({ shift: 5 });

beforeAll(async () => {
  await C.setBackend('cpu');
});

describe('sampleFlowMatch', () => {
  test('CFG runs [uncond, cond] in one batch and combines v = v_u + g (v_c − v_u)', async () => {
    const unet = new MockUNet();
    const x = C.zeros([2, 1, 1, 1]);
    const out = await sampleFlowMatch({ unet, scheduler: scheduler(), initNoise: x, cond: C.full([1, 3, 2], 2), uncond: C.full([1, 3, 2], -1), steps: 1, guidanceScale: 3 });
    expect(unet.calls).toHaveLength(1);
    expect(unet.calls[0]!.batch).toBe(4);
    expect(unet.calls[0]!.contextMeans).toEqual([-1, -1, 2, 2]);
    // one step from sigma 1 to 0: x − 1·(v_u + 3 (v_c − v_u)), x = 0
    expect(Array.from(await host(out))).toEqual([-(-1 + 3 * 3), -(-1 + 3 * 3)]);
  });

  test('guidance ≤ 1 runs the conditional branch only', async () => {
    const unet = new MockUNet();
    await sampleFlowMatch({ unet, scheduler: scheduler(), initNoise: C.zeros([2, 1, 1, 1]), cond: C.ones([2, 3, 2]), uncond: C.zeros([2, 3, 2]), steps: 3, guidanceScale: 1 });
    expect(unet.calls.map((c) => c.batch)).toEqual([2, 2, 2]);
    await expect(sampleFlowMatch({ unet, scheduler: scheduler(), initNoise: C.zeros([1, 1, 1, 1]), cond: C.ones([1, 3, 2]), steps: 2, guidanceScale: 4 })).rejects.toThrow(/needs 'uncond'/);
  });

  test('prompts of different lengths are padded with masked tokens', async () => {
    const unet = new MockUNet();
    await sampleFlowMatch({ unet, scheduler: scheduler(), initNoise: C.zeros([1, 1, 1, 1]), cond: C.ones([1, 5, 2]), uncond: C.ones([1, 2, 2]), steps: 1, guidanceScale: 2 });
    expect(unet.calls[0]!.masked).toBe(true);
    expect(unet.calls[0]!.contextMeans).toEqual([Math.fround((2 * 2) / 10), 1]);
  });

  test('progress callback, then cancellation with AbortSignal stops before the next step and frees everything', async () => {
    const unet = new MockUNet();
    const ac = new AbortController();
    const seen: number[] = [];
    const before = C.memory().numTensors;
    const run = sampleFlowMatch({
      unet,
      scheduler: scheduler(),
      initNoise: C.keep(C.zeros([1, 1, 2, 2])),
      cond: C.keep(C.ones([1, 3, 2])),
      uncond: C.keep(C.zeros([1, 3, 2])),
      steps: 10,
      guidanceScale: 4,
      signal: ac.signal,
      onStep: ({ step, total, latents }) => {
        seen.push(step);
        expect(total).toBe(10);
        expect(latents.shape).toEqual([1, 1, 2, 2]);
        if (step === 3) ac.abort();
      },
    });
    await expect(run).rejects.toBeInstanceOf(C.AbortError);
    expect(seen).toEqual([1, 2, 3]);
    expect(unet.calls).toHaveLength(3);
    expect(C.memory().numTensors).toBe(before + 3); // only the three inputs created above
  });

  test('an abort from outside (timer) is honoured between steps', async () => {
    const ac = new AbortController();
    const slow: Denoiser = { forward: async (x) => { await new Promise((r) => setTimeout(r, 5)); return C.mul(x, 0); } };
    setTimeout(() => ac.abort(), 12);
    await expect(sampleFlowMatch({ unet: slow, scheduler: scheduler(), initNoise: C.zeros([1, 1, 1, 1]), cond: C.ones([1, 1, 1]), steps: 100, guidanceScale: 1, signal: ac.signal })).rejects.toThrow(C.AbortError);
    const pre = new AbortController();
    pre.abort();
    await expect(sampleFlowMatch({ unet: slow, scheduler: scheduler(), initNoise: C.zeros([1, 1, 1, 1]), cond: C.ones([1, 1, 1]), steps: 2, guidanceScale: 1, signal: pre.signal })).rejects.toThrow(C.AbortError);
  });

  test('img2img starts at the strength’s timestep from sigma·noise + (1 − sigma)·image', async () => {
    const unet = new MockUNet();
    const s = scheduler();
    const image = C.full([1, 1, 1, 1], 3);
    const noise = C.full([1, 1, 1, 1], -2);
    let first: number | null = null;
    await sampleFlowMatch({
      unet: { forward: (x, t, c, m) => { if (first === null) first = (x.dataSync() as Float32Array)[0]!; return unet.forward(x, t, c, m); } },
      scheduler: s,
      initNoise: noise,
      cond: C.ones([1, 1, 1]),
      steps: 10,
      guidanceScale: 1,
      image,
      strength: 0.45,
    });
    // diffusers: t_start = int(10 − 10·0.45) = 5 → 5 steps from timesteps[5]
    expect(unet.calls).toHaveLength(5);
    const full = scheduler();
    full.setTimesteps(10);
    expect(unet.calls[0]!.timestep).toBe(full.timesteps[5]);
    const sigma = full.sigmas[5]!;
    expect(first).toBeCloseTo(sigma * -2 + (1 - sigma) * 3, 5);
    // Heun: the start index counts model evaluations (order 2)
    const heunCalls = new MockUNet();
    await sampleFlowMatch({ unet: heunCalls, scheduler: FlowMatchHeunDiscreteScheduler.fromConfig({ shift: 5 }), initNoise: noise, cond: C.ones([1, 1, 1]), steps: 10, guidanceScale: 1, image, strength: 0.45 });
    expect(heunCalls.calls).toHaveLength(19 - 10);
    await expect(sampleFlowMatch({ unet, scheduler: s, initNoise: noise, cond: C.ones([1, 1, 1]), steps: 4, guidanceScale: 1, image, strength: 0 })).rejects.toThrow(/strength must be in/);
  });

  test('a batch with per-item seeds reproduces single runs (tiny UNet, CFG, masks)', async () => {
    const dir = diffusersCase('pipeline-tiny');
    const io = await readAll(path.join(dir, 'io.safetensors'));
    const unet = await UNet2DConditionModel.fromPretrained(diffusersCase('unet-tiny'));
    const run = (noise: C.Tensor): Promise<C.Tensor> =>
      sampleFlowMatch({ unet, scheduler: scheduler(), initNoise: noise, cond: io.get('cond')!, condMask: io.get('cond_mask')!, uncond: io.get('uncond')!, uncondMask: io.get('uncond_mask')!, steps: 3, guidanceScale: 4 });
    const both = await host(await run(initNoise([2, 32, 5, 7], [11, 12])));
    const a = await host(await run(initNoise([1, 32, 5, 7], 11)));
    const b = await host(await run(initNoise([1, 32, 5, 7], 12)));
    expectClose(both.subarray(0, a.length), a, 1e-5, 1e-5, 'item 0');
    expectClose(both.subarray(a.length), b, 1e-5, 1e-5, 'item 1');
    expect(maxAbsDiff(a, b)).toBeGreaterThan(1e-2);
  });
});
