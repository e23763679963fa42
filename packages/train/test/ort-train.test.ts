/**
 * Training on the compiled backend (ort-cpu): a LoRA step is one graph (forward and backward together,
 * the loss and every gradient out of one run), compiled once and reused by every later step, with the same losses as
 * the eager cpu backend.
 */
import { afterAll, describe, expect, test } from 'vitest';
import * as C from '@sdxs/core';
import { skipUnlessBackend } from '@sdxs/core/testing';
import { UNet2DConditionModel } from '@sdxs/unet';
import { drawFlow, flowMatchingLoss } from '../src/flow-matching.js';
import { Trainer } from '../src/trainer.js';
import { SyntheticSource, UNET_TINY, uncondFor } from './helpers/synthetic.js';

const COND: [number, number] = [6, 24];
const TARGETS = ['attn1.to_q', 'attn1.to_v', 'attn2.to_k', 'attn2.to_out.0', 'ff.net.2'];
const STEPS = 4;

const noOrt = await skipUnlessBackend('ort-cpu', 'training on ort-cpu');

async function run(backend: string, checkpointing: boolean, half = false): Promise<{ losses: number[]; compiles: number[][] }> {
  await C.setBackend(backend);
  const model = await UNet2DConditionModel.fromPretrained(UNET_TINY, half ? { dtype: 'half' } : {});
  const params = C.nn.addLora(model, { rank: 4, alpha: 8, targets: TARGETS, seed: 1 });
  const src = new SyntheticSource(4, 2, [32, 4, 4], COND);
  const trainer = await Trainer.create({ model, params, optimizer: 'adamw', schedule: { baseLr: 1e-2, totalSteps: 10 }, uncond: uncondFor(COND), seed: 3, gradientCheckpointing: checkpointing });
  const losses: number[] = [];
  const compiles: number[][] = [];
  let current: number[] = [];
  const off = C.onCompile((e) => {
    if (e.phase === 'end') current.push(e.ops);
  });
  try {
    for (let i = 0; i < STEPS; i++) {
      current = [];
      losses.push((await trainer.trainStep(src)).loss);
      compiles.push(current);
    }
  } finally {
    off();
    model.dispose();
    for (const [, p] of params) p.dispose();
  }
  return { losses, compiles };
}

afterAll(async () => {
  await C.setBackend('cpu');
});

describe('LoRA training on ort-cpu', () => {
  test.skipIf(noOrt).each([false, true])('checkpointing %s: one graph, compiled at the first step and reused, losses equal to cpu', async (ckpt) => {
    const ref = await run('cpu', ckpt);
    const ort = await run('ort-cpu', ckpt);
    console.log(`ort-cpu LoRA training (checkpointing ${ckpt}): compiled ops per step ${JSON.stringify(ort.compiles)}; losses cpu ${ref.losses.map((l) => l.toFixed(6))} ort-cpu ${ort.losses.map((l) => l.toFixed(6))}`);
    for (let i = 0; i < STEPS; i++) expect(Math.abs(ort.losses[i]! - ref.losses[i]!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(ref.losses[i]!)));
    // the adapters are graph inputs from the first step: one compile, reused by every later step
    expect(ort.compiles[0]!.filter((ops) => ops > 100)).toHaveLength(1);
    for (const step of ort.compiles.slice(1)) expect(step.filter((ops) => ops > 100)).toEqual([]);
  });

  test.skipIf(noOrt)('a frozen 16-bit base: LoRA gradients equal to cpu, one compile', async () => {
    // gradients of one fixed draw: the Adam steps themselves would amplify rounding-level differences of
    // near-zero gradient elements into full-learning-rate steps of opposite sign
    const grads = async (backend: string): Promise<Float32Array[]> => {
      await C.setBackend(backend);
      const model = await UNet2DConditionModel.fromPretrained(UNET_TINY, { dtype: 'half' });
      const params = C.nn.addLora(model, { rank: 4, alpha: 8, targets: TARGETS, seed: 1 });
      // non-zero B, so that every adapter tensor has a gradient
      for (const [n, p] of params) if (n.endsWith('lora_B.weight')) p.set(C.mul(C.ones(p.shape), 0.01));
      model.gradientCheckpointing = true;
      const src = new SyntheticSource(2, 2, [32, 4, 4], COND);
      const batch = await src.next();
      const draws = drawFlow(new C.RandomGenerator(5), batch.latents.shape, { condDropout: 0 });
      const { value, grads: gs } = C.valueAndGrad(() => flowMatchingLoss(model, batch, draws, null), params.map(([, p]) => p.value));
      await C.realize([value, ...gs]);
      const out = await Promise.all(gs.map(async (g) => ((await g.data()) as Float32Array).slice()));
      C.dispose([value, ...gs, draws.noise]);
      batch.dispose();
      model.dispose();
      for (const [, p] of params) p.dispose();
      return out;
    };
    const ref = await grads('cpu');
    const got = await grads('ort-cpu');
    let worst = 0;
    let scale = 0;
    ref.forEach((r, i) => r.forEach((v, j) => {
      worst = Math.max(worst, Math.abs(v - got[i]![j]!));
      scale = Math.max(scale, Math.abs(v));
    }));
    console.log(`ort-cpu LoRA gradients on a float16 base vs cpu: max abs error ${worst.toExponential(2)} (max |g| ${scale.toExponential(2)})`);
    expect(worst).toBeLessThan(1e-4 * scale + 1e-7);
    // and a run of steps compiles once
    const ort = await run('ort-cpu', true, true);
    expect(ort.compiles[0]!.filter((ops) => ops > 100)).toHaveLength(1);
    for (const step of ort.compiles.slice(1)) expect(step.filter((ops) => ops > 100)).toEqual([]);
  });
});
