import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import * as C from '@sdxs/core';
import { Qwen35ImageProcessor, parseImageProcessorConfig, resizeBicubicPil, smartResize, type ImageInput } from '../src/index.js';
import { fixturesDir } from '@sdxs/core/testing';
import { caseDir, floats, skipWithoutCase, readReference, rows, type Reference } from './qwen-fixtures.js';

const CASE = 'qwen35-vision-tiny';
const PHOTO = path.join(fixturesDir(), '..', 'images', 'chelsea.png');

async function decode(file: string): Promise<ImageInput> {
  const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}

describe('smartResize', () => {
  it('keeps sides multiples of the factor and the pixel count inside the bounds', () => {
    for (const [h, w] of [[300, 451], [1024, 1024], [4000, 3000], [33, 33], [50, 700]] as const) {
      const [rh, rw] = smartResize(h, w, 32, 4096, 40000);
      expect(rh % 32).toBe(0);
      expect(rw % 32).toBe(0);
      expect(rh * rw).toBeLessThanOrEqual(40000);
      expect(rh * rw).toBeGreaterThanOrEqual(4096);
    }
  });
  it('never gives a side shorter than the factor (a thin image may then pass max_pixels, as in the reference)', () => {
    expect(smartResize(37, 2000, 32, 4096, 40000)[0]).toBe(32);
  });
  it('refuses an aspect ratio over 200', () => {
    expect(() => smartResize(10, 2100, 32, 4096, 40000)).toThrow(C.InputError);
  });
});

describe('resizeBicubicPil', () => {
  it('is the identity when the size does not change and keeps a constant image constant', () => {
    const flat = new Uint8Array(20 * 10 * 3).fill(77);
    expect(Array.from(resizeBicubicPil(flat, 20, 10, 3, 20, 10))).toEqual(Array.from(flat));
    expect(new Set(resizeBicubicPil(flat, 20, 10, 3, 7, 13))).toEqual(new Set([77]));
  });
});

describe.skipIf(skipWithoutCase(CASE))('Qwen35ImageProcessor on the fixture photo', () => {
  let ref: Reference;
  let proc: Qwen35ImageProcessor;
  beforeAll(async () => {
    ref = await readReference(CASE);
    proc = await Qwen35ImageProcessor.fromPretrained(caseDir(CASE));
    await C.setBackend('cpu');
  });
  const stats: string[] = [];
  afterAll(() => {
    if (stats.length) console.log(stats.join('\n'));
  });

  it('gives the reference grid and matches pixel_values closely (bicubic as Pillow)', async () => {
    const img = await decode(PHOTO);
    const { pixelValues, imageGridThw } = proc.preprocess(img);
    expect(imageGridThw).toEqual(rows(ref, 'image_grid_thw'));
    const expected = floats(ref, 'pixel_values');
    expect(pixelValues.shape).toEqual(ref.floats.get('pixel_values')!.shape);
    const got = (await pixelValues.data()) as Float32Array;
    let max = 0;
    let sum = 0;
    let off = 0;
    for (let i = 0; i < got.length; i++) {
      const d = Math.abs(got[i]! - expected[i]!);
      max = Math.max(max, d);
      sum += d;
      if (d > 1e-5) off++;
    }
    stats.push(`preprocess vs pixel_values: mean abs ${(sum / got.length).toExponential(2)}, max abs ${max.toExponential(2)}, ${off} of ${got.length} values differ by more than 1e-5`);
    // one uint8 step is 1/255/std ≈ 0.015 after normalisation
    expect(max).toBeLessThan(0.02);
    expect(sum / got.length).toBeLessThan(1e-4);
    pixelValues.dispose();
  });

  it('shrinks an image above max_pixels instead of refusing it', () => {
    const big = { data: new Uint8Array(640 * 480 * 3).fill(128), width: 640, height: 480 };
    const { pixelValues, imageGridThw } = proc.preprocess(big);
    const [[, h, w]] = imageGridThw as [[number, number, number]];
    expect(h * w * proc.config.patchSize ** 2).toBeLessThanOrEqual(proc.config.maxPixels);
    pixelValues.dispose();
  });

  it('reads min/max pixels from size and refuses a non-bicubic resample', () => {
    const c = parseImageProcessorConfig({ size: { shortest_edge: 10, longest_edge: 99 }, patch_size: 16 });
    expect([c.minPixels, c.maxPixels, c.patchSize]).toEqual([10, 99, 16]);
    expect(() => parseImageProcessorConfig({ resample: 2 }, 'x.json')).toThrow(/x\.json: key 'resample'/);
  });
});
