import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import * as C from '@sdxs/core';
import { UNet2DConditionModel } from '@sdxs/unet';
import { drawFlow, flowMatchingLoss } from '../src/flow-matching.js';
import { DEFAULT_LORA_TARGETS } from '../src/lora-config.js';
import { addTrainableLora, LORA_KOHYA_FILE, LORA_PEFT_FILE, saveLoraFiles } from '../src/lora-adapters.js';
import { Trainer } from '../src/trainer.js';
import { SyntheticSource, UNET_TINY, uncondFor } from './helpers/synthetic.js';

const COND: [number, number] = [6, 24];
const TARGETS = ['attn1.to_q', 'attn1.to_k', 'attn1.to_v', 'attn1.to_out.0', 'attn2.to_q', 'attn2.to_k', 'attn2.to_v', 'attn2.to_out.0', 'ff.net.0.proj', 'ff.net.2'];

beforeAll(async () => {
  await C.setBackend('cpu');
});

async function evalLoss(model: UNet2DConditionModel, src: SyntheticSource): Promise<number> {
  const rng = new C.RandomGenerator(999);
  const batch = src.batchOf(Array.from({ length: src.n }, (_, i) => i));
  const d = drawFlow(rng, batch.latents.shape, { condDropout: 0 });
  const l = C.noGrad(() => flowMatchingLoss(model, batch, d, null));
  const v = ((await l.data()) as Float32Array)[0]!;
  C.dispose([l, d.noise]);
  batch.dispose();
  return v;
}

describe('LoRA training', () => {
  test('only adapter parameters train (the base is bit-identical), the loss falls, and the saved PEFT file reloads to the same outputs', async () => {
    const model = await UNet2DConditionModel.fromPretrained(UNET_TINY);
    const baseBits = new Map<string, Float32Array>();
    for (const [k, p] of model.namedParameters()) baseBits.set(k, ((await p.value.data()) as Float32Array).slice());
    const params = C.nn.addLora(model, { rank: 4, alpha: 8, targets: TARGETS, adapterName: 'default', seed: 1 });
    const blocks = model.namedModules().filter(([n]) => /transformer_blocks\.\d+$/.test(n)).length;
    expect(params.length).toBe(2 * TARGETS.length * blocks); // A and B for each of the 10 projections of every transformer block
    const src = new SyntheticSource(4, 4, [32, 4, 4], COND);
    const before = await evalLoss(model, src);
    const trainer = await Trainer.create({
      model,
      params,
      optimizer: 'adamw',
      schedule: { baseLr: 1e-2, minLr: 1e-3, warmupSteps: 2, totalSteps: 25 },
      uncond: uncondFor(COND),
      seed: 3,
    });
    expect(trainer.params.every(([n]) => /lora_[AB]\.weight$/.test(n))).toBe(true);
    for (let i = 0; i < 25; i++) await trainer.trainStep(src);
    const after = await evalLoss(model, src);
    console.log(`LoRA rank 4 on unet-tiny: fixed-draw loss ${before.toFixed(4)} -> ${after.toFixed(4)} after 25 steps (${params.length} adapter tensors)`);
    expect(after).toBeLessThan(before * 0.95);
    for (const [k, p] of model.namedParameters()) expect(((await p.value.data()) as Float32Array).every((v, i) => v === baseBits.get(k)![i]), k).toBe(true);

    const file = path.join(mkdtempSync(path.join(tmpdir(), 'sdxs-lora-train-')), 'pytorch_lora_weights.safetensors');
    await C.nn.saveLora(model, file, { adapterName: 'default', prefix: 'unet.' });
    const f = await C.loadSafetensors(file);
    expect(f.names().every((n) => /^unet\..+\.lora_[AB]\.weight$/.test(n))).toBe(true);
    expect(JSON.parse(f.metadata['lora_adapter_metadata']!)).toMatchObject({ 'unet.r': 4, 'unet.lora_alpha': 8 });
    await f.close();
    const fresh = await UNet2DConditionModel.fromPretrained(UNET_TINY);
    await fresh.loadLoraWeights(path.dirname(file));
    const x = C.randomNormal([1, 32, 4, 4], { seed: 8 });
    const e = C.randomNormal([1, 6, 24], { seed: 9 });
    const a = (await model.forward(x, 300, e).data()) as Float32Array;
    const b = (await fresh.forward(x, 300, e).data()) as Float32Array;
    expect(Math.max(...a.map((v, i) => Math.abs(v - b[i]!)))).toBe(0);
    model.dispose();
    fresh.dispose();
  }, 120_000);

  test('addTrainableLora: the frozen base stays 16-bit and bit-identical; only adapters train and hold optimizer state', async () => {
    const model = await UNet2DConditionModel.fromPretrained(UNET_TINY, { dtype: 'half' });
    const before = new Map<string, Uint16Array>();
    for (const [k, p] of model.namedParameters()) before.set(k, ((await p.value.data()) as Uint16Array).slice());
    const bytes = model.parameterBytes();
    const params = await addTrainableLora(model, { rank: 2, dropout: 0.1 }, 4);
    expect([...DEFAULT_LORA_TARGETS]).toEqual(TARGETS);
    const blocks = model.namedModules().filter(([n]) => /transformer_blocks\.\d+$/.test(n)).length;
    expect(params.length).toBe(2 * TARGETS.length * blocks);
    expect(model.namedParameters().every(([, p]) => !p.trainable)).toBe(true);
    const src = new SyntheticSource(4, 2, [32, 4, 4], COND);
    const trainer = await Trainer.create({ model, params, optimizer: 'adamw', gradientCheckpointing: true, schedule: { baseLr: 1e-2, totalSteps: 3 }, uncond: uncondFor(COND), seed: 1 });
    expect(trainer.loraDropout).toBe(true);
    for (let i = 0; i < 2; i++) await trainer.trainStep(src);
    for (const [k, p] of model.namedParameters()) {
      expect(p.value.dtype, k).toBe('float16');
      expect(((await p.value.data()) as Uint16Array).every((v, i) => v === before.get(k)![i]), k).toBe(true);
    }
    expect(model.parameterBytes()).toBe(bytes); // no float32 copy of the base
    const names = new Set(params.map(([n]) => n));
    const state = Object.keys(trainer.optimizer.stateDict().tensors);
    expect(state.length).toBe(2 * params.length);
    expect(state.every((k) => names.has(k.replace(/\.exp_avg(_sq)?$/, '')))).toBe(true);
    model.dispose();
  }, 120_000);

  test('saved PEFT and kohya files reproduce the trained model (dropout off in evaluation); initFrom continues from either, rescaled to its own alpha', async () => {
    const model = await UNet2DConditionModel.fromPretrained(UNET_TINY);
    const params = await addTrainableLora(model, { rank: 3, alpha: 6, dropout: 0.2, targets: ['attn1.to_q', 'attn2.to_v', 'ff.net.2'] }, 2);
    const src = new SyntheticSource(4, 2, [32, 4, 4], COND);
    const trainer = await Trainer.create({ model, params, optimizer: 'adamw', schedule: { baseLr: 2e-2, totalSteps: 4 }, uncond: uncondFor(COND), seed: 6 });
    for (let i = 0; i < 4; i++) await trainer.trainStep(src);
    const dir = mkdtempSync(path.join(tmpdir(), 'sdxs-lora-files-'));
    const files = await saveLoraFiles(dir, model, 'both');
    expect(files.map((f) => path.basename(f))).toEqual([LORA_PEFT_FILE, LORA_KOHYA_FILE]);
    const x = C.randomNormal([1, 32, 4, 4], { seed: 8 });
    const e = C.randomNormal([1, 6, 24], { seed: 9 });
    const out = async (m: UNet2DConditionModel): Promise<Float32Array> => (await m.forward(x, 300, e).data()) as Float32Array;
    const trained = await out(model);
    const maxDiff = (a: Float32Array, b: Float32Array): number => Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
    for (const f of files) {
      const fresh = await UNet2DConditionModel.fromPretrained(UNET_TINY);
      await fresh.loadLoraWeights(f);
      expect(maxDiff(await out(fresh), trained), f).toBe(0);
      fresh.dispose();
      // initFrom with another alpha: B is rescaled so that the model is the same
      const cont = await UNet2DConditionModel.fromPretrained(UNET_TINY);
      await addTrainableLora(cont, { rank: 3, alpha: 1.5, targets: ['attn1.to_q', 'attn2.to_v', 'ff.net.2'], initFrom: f });
      expect(cont.loraAdapters).toEqual(['default']);
      expect(maxDiff(await out(cont), trained), f).toBeLessThan(1e-5);
      cont.dispose();
    }
    const wrong = await UNet2DConditionModel.fromPretrained(UNET_TINY);
    await expect(addTrainableLora(wrong, { rank: 2, targets: ['attn1.to_q', 'attn2.to_v', 'ff.net.2'], initFrom: files[0]! })).rejects.toThrow(/rank 3 in the file, 2 configured/);
    wrong.dispose();
    const fewer = await UNet2DConditionModel.fromPretrained(UNET_TINY);
    await expect(addTrainableLora(fewer, { rank: 3, targets: ['attn1.to_q'], initFrom: files[0]! })).rejects.toThrow(/in the file but not a LoRA target/);
    expect(fewer.loraAdapters).toEqual(['default']); // the file's copy is unloaded again
    fewer.dispose();
    C.dispose([x, e]);
    model.dispose();
  }, 120_000);
});
