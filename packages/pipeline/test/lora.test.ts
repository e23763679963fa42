import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as C from '@sdxs/core';
import { SdxsPipeline } from '@sdxs/pipeline';
import { makeTinyModel } from '../../../tools/make-tiny-model.js';
import { lcgValues } from '@sdxs/core/testing';

let dir: string;
let pipe: SdxsPipeline;

const values = (n: number, seed: number, amp = 0.3): Float32Array => lcgValues(n, seed, amp);

beforeAll(async () => {
  await C.setBackend('cpu');
  dir = await mkdtemp(path.join(tmpdir(), 'sdxs-pipe-lora-'));
  await makeTinyModel(path.join(dir, 'model'));
  pipe = await SdxsPipeline.fromPretrained(path.join(dir, 'model'));
  // one file with a kohya UNet part and a diffusers text-encoder part, as shared LoRAs often are
  const te = await pipe.getTextEncoder();
  const q = te.model.layers.at(0).mlp.up_proj;
  const unet = await pipe.getUnet();
  const k = unet.down_blocks.at(0).attentions!.at(0).transformer_blocks.at(0).attn2.to_k;
  await C.saveSafetensors(path.join(dir, 'mixed.safetensors'), {
    'lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight': { dtype: 'F32', shape: [2, k.inFeatures], data: values(2 * k.inFeatures, 1) },
    'lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_up.weight': { dtype: 'F32', shape: [k.outFeatures, 2], data: values(2 * k.outFeatures, 2, 2) },
    'lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.alpha': { dtype: 'F32', shape: [], data: Float32Array.of(2) },
    'text_encoder.model.language_model.layers.0.mlp.up_proj.lora_A.weight': { dtype: 'F32', shape: [2, q.inFeatures], data: values(2 * q.inFeatures, 3) },
    'text_encoder.model.language_model.layers.0.mlp.up_proj.lora_B.weight': { dtype: 'F32', shape: [q.outFeatures, 2], data: values(2 * q.outFeatures, 4, 2) },
  });
}, 120_000);

afterAll(async () => {
  pipe?.dispose();
  await rm(dir, { recursive: true, force: true });
});

const opts = { prompt: 'a red fox', width: 32, height: 32, steps: 2, seed: 3, guidanceScale: 1 };
const diff = (a: Float32Array, b: Float32Array): number => Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));

describe('SdxsPipeline LoRA', () => {
  test('a mixed file loads into the UNet and the text encoder; weight 0 is the base model; it survives release()', async () => {
    const base = (await pipe.generate(opts)).images[0]!.planar; // releases the text encoder afterwards (default)
    const name = await pipe.loadLoraWeights(path.join(dir, 'mixed.safetensors'), { adapterName: 'mix' });
    expect(name).toBe('mix');
    expect((await pipe.getUnet()).loraAdapters).toEqual(['mix']);
    const withLora = (await pipe.generate(opts)).images[0]!.planar;
    console.log(`pipeline LoRA: max |lora - base| over pixels ${diff(withLora, base).toExponential(3)}`);
    expect(diff(withLora, base)).toBeGreaterThan(1e-3);
    expect((await pipe.getTextEncoder()).model.loraAdapters).toEqual(['mix']); // re-applied on reload
    pipe.setAdapters('mix', 0);
    expect(diff((await pipe.generate(opts)).images[0]!.planar, base)).toBe(0);
    pipe.setAdapters('mix', 1);
    await pipe.fuseLora();
    expect(diff((await pipe.generate(opts)).images[0]!.planar, withLora)).toBeLessThan(1e-4);
    pipe.unfuseLora();
    pipe.unloadLoraWeights();
    expect(pipe.loraAdapters).toEqual([]);
    expect(diff((await pipe.generate(opts)).images[0]!.planar, base)).toBe(0);
  }, 120_000);

  test('guidance 1 (few-step adapters) runs one UNet pass per step on the conditional batch only, for 1 to 8 steps', async () => {
    const unet = await pipe.getUnet();
    const batches: number[] = [];
    const forward = unet.forward.bind(unet);
    unet.forward = (x, t, e, m) => {
      batches.push(x.shape[0]!);
      return forward(x, t, e, m);
    };
    try {
      for (const steps of [1, 4, 8]) {
        batches.length = 0;
        const r = await pipe.generate({ ...opts, steps, negativePrompt: 'blurry' });
        expect(r.images[0]!.planar.every(Number.isFinite)).toBe(true);
        expect(batches).toEqual(new Array<number>(steps).fill(1));
      }
      batches.length = 0;
      await pipe.generate({ ...opts, steps: 1, guidanceScale: 3 });
      expect(batches).toEqual([2]);
    } finally {
      unet.forward = forward;
    }
  }, 120_000);

  test('a LoRA whose finite values overflow the model stops generate with a NonFiniteError instead of a black image; empty and NaN files are CheckpointErrors', async () => {
    const unet = await pipe.getUnet();
    const k = unet.down_blocks.at(0).attentions!.at(0).transformer_blocks.at(0).attn2.to_k;
    const key = 'unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k';
    const file = (name: string): string => path.join(dir, name);
    // every value finite and the scale 1: only their product overflows float32 inside the UNet
    await C.saveSafetensors(file('overflow.safetensors'), {
      [`${key}.lora_A.weight`]: { dtype: 'F32', shape: [2, k.inFeatures], data: new Float32Array(2 * k.inFeatures).fill(3e37) },
      [`${key}.lora_B.weight`]: { dtype: 'F32', shape: [k.outFeatures, 2], data: new Float32Array(2 * k.outFeatures).fill(3e37) },
    });
    expect(pipe.loraAdapters).toEqual([]);
    const name = await pipe.loadLoraWeights(file('overflow.safetensors'));
    try {
      const e = await pipe.generate(opts).then(() => null, (x: unknown) => x as Error);
      expect(e).toBeInstanceOf(C.NonFiniteError);
      expect(e!.message).toMatch(/latents became non-finite/);
    } finally {
      pipe.unloadLoraWeights(name);
    }
    expect((await pipe.generate(opts)).images[0]!.planar.every(Number.isFinite)).toBe(true);

    await C.saveSafetensors(file('empty.safetensors'), {});
    await expect(pipe.loadLoraWeights(file('empty.safetensors'))).rejects.toThrow(/empty\.safetensors: the LoRA file holds no tensors/);
    await C.saveSafetensors(file('nan.safetensors'), {
      [`${key}.lora_A.weight`]: { dtype: 'F32', shape: [2, k.inFeatures], data: new Float32Array(2 * k.inFeatures).fill(Number.NaN) },
      [`${key}.lora_B.weight`]: { dtype: 'F32', shape: [k.outFeatures, 2], data: new Float32Array(2 * k.outFeatures).fill(0.1) },
    });
    const e = await pipe.loadLoraWeights(file('nan.safetensors')).then(() => null, (x: unknown) => x as Error);
    expect(e).toBeInstanceOf(C.CheckpointError);
    expect(e!.message).toContain(`nan.safetensors [${key}.lora_A.weight]`);
    expect(pipe.loraAdapters).toEqual([]);
    // a non-finite weight is refused before anything is registered
    await expect(pipe.loadLoraWeights(file('overflow.safetensors'), { weight: Number.NaN })).rejects.toThrow(C.InputError);
    expect(pipe.loraAdapters).toEqual([]);
  }, 120_000);
});
