import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as C from '@sdxs/core';
import { skipUnlessBackend } from '@sdxs/core/testing';
import { SdxsPipeline } from '@sdxs/pipeline';
import { Qwen35Model, QwenTokenizer, imageMessageIds } from '@sdxs/text-qwen';
import { makeTinyModel } from '../../../tools/make-tiny-model.js';

let dir: string;
let model: string;
let pipe: SdxsPipeline;

/** A 96x72 RGB picture with structure (larger than the tiny processor's max_pixels, so it is shrunk). */
function picture(w = 96, h = 72): { width: number; height: number; channels: number; data: Uint8Array } {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set([(x * 5) % 256, (y * 7) % 256, x < w / 2 ? 220 : 30], (y * w + x) * 3);
  return { width: w, height: h, channels: 3, data };
}

beforeAll(async () => {
  await C.setBackend('cpu');
  dir = await mkdtemp(path.join(tmpdir(), 'sdxs-imgprompt-'));
  model = path.join(dir, 'model');
  await makeTinyModel(model);
  pipe = await SdxsPipeline.fromPretrained(model, { releaseTextEncoder: false });
}, 120_000);

afterAll(async () => {
  pipe?.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe('image prompts on the tiny model', () => {
  test('the image-prompt conditioning is hidden_states[-2] of Qwen35Model on the chat ids, pooled token first, uncond padded to its length', async () => {
    const img = picture();
    const { cond, uncond } = await pipe.encodeImagePrompt(img, 'a fox', 1, ['blurry']);
    const [, len, d] = cond.states.shape as [number, number, number];
    expect(len).toBeGreaterThanOrEqual(249);
    expect(uncond!.states.shape).toEqual(cond.states.shape);
    expect(uncond!.mask.shape).toEqual(cond.mask.shape);

    // the same ids through the reference-checked Qwen35Model path
    const enc = await pipe.getVisionEncoder();
    const vision = enc.vision!;
    const { pixelValues, imageGridThw } = vision.processor.preprocess(img);
    const tok = await QwenTokenizer.fromPretrained(path.join(model, 'tokenizer'));
    const ids = imageMessageIds(tok, vision, imageGridThw[0]!, 'a fox');
    const vlm = await Qwen35Model.fromPretrained(path.join(model, 'text_encoder'));
    const h = vlm.penultimateHiddenState({ inputIds: [ids], pixelValues, imageGridThw });
    const want = (await h.data()) as Float32Array;
    const got = (await cond.states.data()) as Float32Array;
    const n = ids.length;
    let err = 0;
    for (let i = 0; i < n * d; i++) err = Math.max(err, Math.abs(got[d + i]! - want[i]!));
    for (let j = 0; j < d; j++) err = Math.max(err, Math.abs(got[j]! - want[(n - 1) * d + j]!));
    expect(err).toBeLessThan(1e-5);
    const mask = Array.from((await cond.mask.data()) as Float32Array);
    expect(mask.slice(0, n + 1).every((v) => v === 1)).toBe(true);
    expect(mask.slice(n + 1).every((v) => v === 0)).toBe(true);
    C.dispose([cond.states, cond.mask, uncond!.states, uncond!.mask, h, pixelValues]);
    vlm.dispose();
  }, 60_000);

  test('generate({ imagePrompt, prompt }) runs end to end and differs from the text-only picture', async () => {
    const req = { width: 32, height: 32, steps: 2, seed: 4 };
    const withImage = await pipe.generate({ ...req, imagePrompt: picture(), prompt: 'a fox' });
    // every part is loaded now: later generations must leave no tensor behind
    const before = C.memory().numTensors;
    const textOnly = await pipe.generate({ ...req, prompt: 'a fox' });
    expect(withImage.images[0]!.parameters.image_prompt).toBe('96x72');
    expect(withImage.images[0]!.planar).not.toEqual(textOnly.images[0]!.planar);
    const imageOnly = await pipe.generate({ ...req, batch: 2, imagePrompt: picture() });
    expect(imageOnly.images).toHaveLength(2);
    expect(C.memory().numTensors).toBe(before);
  }, 60_000);

  test('the refiner writes a prompt from a picture, reproducibly for a seed', async () => {
    const a = await pipe.refineImage(picture(), { maxNewTokens: 5, seed: 2 });
    const b = await pipe.refineImage(picture(), { maxNewTokens: 5, seed: 2 });
    expect(a).toBe(b);
    expect(a).not.toContain('prompt engineer');
  }, 60_000);

  test('an image prompt on a checkpoint without model.visual.* fails naming the file', async () => {
    const bare = path.join(dir, 'bare');
    await cp(model, bare, { recursive: true });
    const file = path.join(bare, 'text_encoder/model.safetensors');
    const src = await C.loadSafetensors(file);
    const tensors: C.SafetensorsTensorMap = {};
    for (const k of src.names()) if (!k.startsWith('model.visual.')) tensors[k] = { dtype: 'F32', shape: [...src.info(k).shape], data: (await src.readTyped(k)) as Float32Array };
    await src.close();
    await C.saveSafetensors(file, tensors, { format: 'pt' });
    const p = await SdxsPipeline.fromPretrained(bare);
    try {
      await expect(p.generate({ imagePrompt: picture(), width: 32, height: 32, steps: 1 })).rejects.toThrow(/model\.safetensors.*no 'model\.visual\.\*' tensors/);
    } finally {
      p.dispose();
    }
  }, 60_000);
});

const noOrt = await skipUnlessBackend('ort-cpu', 'image prompt on ort-cpu');

describe('image prompts on the compiled backend (ort-cpu)', () => {
  test.skipIf(noOrt)('the image-prompt conditioning equals cpu', async () => {
    const { cond } = await pipe.encodeImagePrompt(picture(), 'a fox', 1, [], false);
    const want = (await cond.states.data()) as Float32Array;
    C.dispose([cond.states, cond.mask]);
    await C.setBackend('ort-cpu');
    const compiled = await SdxsPipeline.fromPretrained(model, { releaseTextEncoder: false });
    try {
      const r = await compiled.encodeImagePrompt(picture(), 'a fox', 1, [], false);
      const got = (await r.cond.states.data()) as Float32Array;
      let err = 0;
      got.forEach((v, i) => (err = Math.max(err, Math.abs(v - want[i]!))));
      console.log(`[image prompt] ort-cpu vs cpu conditioning: max abs error ${err.toExponential(2)}`);
      expect(err).toBeLessThan(1e-4);
      C.dispose([r.cond.states, r.cond.mask]);
    } finally {
      compiled.dispose();
      await C.setBackend('cpu');
    }
  }, 60_000);
});
