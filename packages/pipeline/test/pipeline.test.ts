import { rm } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as C from '@sdxs/core';
import { skipUnlessBackend } from '@sdxs/core/testing';
import { SdxsPipeline, type PipelineProgress } from '@sdxs/pipeline';
import { makeTinyModel } from '../../../tools/make-tiny-model.js';

let dir: string;
let pipe: SdxsPipeline;

beforeAll(async () => {
  await C.setBackend('cpu');
  dir = await mkdtemp(path.join(tmpdir(), 'sdxs-pipe-'));
  await makeTinyModel(path.join(dir, 'model'));
  pipe = await SdxsPipeline.fromPretrained(path.join(dir, 'model'), { releaseTextEncoder: false });
}, 120_000);

afterAll(async () => {
  pipe?.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe('SdxsPipeline on a complete tiny model', () => {
  test('encodePrompt gives [B, 249, D] states and masks with the pooled token first', async () => {
    const { cond, uncond } = await pipe.encodePrompt(['a red fox', 'snow'], ['blurry']);
    expect(cond.states.shape).toEqual([2, 249, 24]);
    expect(cond.mask.shape).toEqual([2, 249]);
    expect(uncond.states.shape).toEqual([2, 249, 24]);
    const m = await cond.mask.data();
    expect(m[0]).toBe(1);
    C.dispose([cond.states, cond.mask, uncond.states, uncond.mask]);
  });

  test('same seed, same pixels; image i of a batch equals a single run with seed + i', async () => {
    const base = { prompt: 'a red fox', width: 32, height: 48, steps: 2 };
    const a = await pipe.generate({ ...base, seed: 5, batch: 2 });
    const b = await pipe.generate({ ...base, seed: 6 });
    expect(a.seeds).toEqual([5, 6]);
    expect(a.images[0]!.width).toBe(32);
    expect(a.images[0]!.height).toBe(48);
    const d = Math.max(...a.images[1]!.planar.map((v, i) => Math.abs(v - b.images[0]!.planar[i]!)));
    expect(d).toBeLessThan(1e-5);
    expect(a.images[0]!.planar).not.toEqual(a.images[1]!.planar);
  }, 60_000);

  test('progress goes through encode, denoise (every step) and decode; memory returns to the baseline', async () => {
    const before = C.memory().numTensors;
    const seen: PipelineProgress[] = [];
    await pipe.generate({ prompt: 'x', width: 32, height: 32, steps: 3, seed: 1, guidanceScale: 1, onProgress: (p) => seen.push(p) });
    expect(seen.filter((p) => p.stage === 'denoise').map((p) => p.done)).toEqual([1, 2, 3]);
    expect(seen.some((p) => p.stage === 'encode')).toBe(true);
    expect(seen.at(-1)).toMatchObject({ stage: 'decode', done: 1, total: 1 });
    expect(C.memory().numTensors).toBe(before);
  }, 60_000);

  test('img2img keeps more of the image at low strength', async () => {
    const w = 32;
    const h = 32;
    const data = new Uint8Array(w * h * 3);
    for (let i = 0; i < w * h; i++) data.set([i % w < 16 ? 230 : 20, 40, i < (w * h) / 2 ? 200 : 30], i * 3);
    const image = { width: w, height: h, channels: 3, data };
    const lo = await pipe.generate({ prompt: 'x', width: w, height: h, steps: 4, seed: 2, image, strength: 0.25 });
    const hi = await pipe.generate({ prompt: 'x', width: w, height: h, steps: 4, seed: 2, image, strength: 1 });
    expect(lo.images[0]!.parameters.strength).toBe(0.25);
    expect(lo.images[0]!.planar).not.toEqual(hi.images[0]!.planar);
  }, 60_000);

  test('sizes that are not multiples of 16 and bad strengths are refused with the fix', async () => {
    await expect(pipe.generate({ prompt: 'x', width: 40, height: 32 })).rejects.toThrow(/multiple of 16.*try 48/);
    await expect(pipe.generate({ prompt: 'x', width: 32, height: 32, image: { width: 1, height: 1, channels: 3, data: new Uint8Array(3) }, strength: 0 })).rejects.toThrow(/strength/);
  });

  test('cancellation stops the denoising loop with an AbortError', async () => {
    const ac = new AbortController();
    const p = pipe.generate({ prompt: 'x', width: 32, height: 32, steps: 20, seed: 1, signal: ac.signal, onProgress: (s) => s.stage === 'denoise' && s.done === 2 && ac.abort() });
    await expect(p).rejects.toThrow(C.AbortError);
  }, 60_000);

  test('the refiner rewrites a prompt with new tokens only, reproducibly for a seed', async () => {
    const a = await pipe.refinePrompt('a cat', { maxNewTokens: 6, seed: 3 });
    const b = await pipe.refinePrompt('a cat', { maxNewTokens: 6, seed: 3 });
    expect(a).toBe(b);
    expect(a).not.toContain('You are a skilled');
  }, 60_000);
});

describe('tiled VAE decode', () => {
  test('tiles give the requested size; a tile covering the image is the one-pass decode', async () => {
    const base = { prompt: 'x', width: 128, height: 96, steps: 2, seed: 4, guidanceScale: 1 };
    const one = await pipe.generate(base);
    const covering = await pipe.generate({ ...base, decodeTile: 64 });
    const tiled = await pipe.generate({ ...base, decodeTile: 32 });
    expect([tiled.images[0]!.width, tiled.images[0]!.height]).toEqual([128, 96]);
    const a = one.images[0]!.planar;
    const c = covering.images[0]!.planar;
    expect(Math.max(...a.map((v, i) => Math.abs(v - c[i]!)))).toBeLessThan(1e-6);
    // the blending of overlapping tiles itself is exact (tested in @sdxs/vae); here only that it ran
    expect(tiled.images[0]!.planar).not.toEqual(a);
  }, 60_000);
});

const noOrt = await skipUnlessBackend('ort-cpu', 'pipeline on ort-cpu');

describe('SdxsPipeline on the compiled backend (ort-cpu)', () => {
  test.skipIf(noOrt)('same pixels as cpu; each model part compiles once per shape and is reported as a compile stage', async () => {
    const req = { prompt: 'a red fox', negativePrompt: 'blurry', width: 32, height: 32, steps: 3, guidanceScale: 3, seed: 9 };
    const want = (await pipe.generate(req)).images[0]!.planar;
    await C.setBackend('ort-cpu');
    const compiled = await SdxsPipeline.fromPretrained(path.join(dir, 'model'), { releaseTextEncoder: false });
    try {
      const seen: PipelineProgress[] = [];
      const got = await compiled.generate({ ...req, onProgress: (p) => seen.push(p) });
      let err = 0;
      got.images[0]!.planar.forEach((v, i) => (err = Math.max(err, Math.abs(v - want[i]!))));
      console.log(`[pipeline] 32x32, 3 steps, CFG 3 on ort-cpu vs cpu: max abs pixel error ${err.toExponential(2)}`);
      expect(err).toBeLessThan(1e-3);
      const compiles = seen.filter((p) => p.stage === 'compile' && p.done === 1).map((p) => p.detail);
      expect(compiles.filter((d) => d === 'unet')).toHaveLength(1);
      expect(compiles).toContain('vae.decode');
      // a second generation at the same size compiles nothing
      seen.length = 0;
      await compiled.generate({ ...req, seed: 10, onProgress: (p) => seen.push(p) });
      expect(seen.filter((p) => p.stage === 'compile')).toEqual([]);
    } finally {
      compiled.dispose();
      await C.setBackend('cpu');
    }
  });
});
