import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, test } from 'vitest';
import * as C from '@sdxs/core';
import { upscale, upscaleBatch, type Raster } from '../src/index.js';
import { imagesDir } from './helpers/fixtures.js';
import { tinyVae } from './helpers/model.js';

async function photo(name: string, w?: number, h?: number): Promise<Raster<Uint8Array>> {
  let img = sharp(path.join(imagesDir, name)).removeAlpha().toColourspace('srgb');
  if (w && h) img = img.extract({ left: 0, top: 0, width: w, height: h });
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, channels: 3, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

function toFloat(img: Raster<Uint8Array>): Raster<Float32Array> {
  return { ...img, data: Float32Array.from(img.data, (v) => v / 255) };
}

describe('upscale', () => {
  test('output is exactly 2W x 2H for sizes that are not multiples of 8, RGBA keeps its alpha', async () => {
    const vae = await tinyVae();
    const w = 13;
    const h = 7;
    const data = new Uint8Array(w * h * 4);
    for (let i = 0; i < w * h; i++) data.set([(i * 7) % 256, (i * 13) % 256, (i * 29) % 256, i % 2 ? 255 : 0], i * 4);
    const before = C.memory().numTensors;
    const out = await upscale(vae, { width: w, height: h, channels: 4, data });
    expect(C.memory().numTensors).toBe(before);
    expect([out.width, out.height, out.channels, out.data.length]).toEqual([26, 14, 4, 26 * 14 * 4]);
    expect(out.data).toBeInstanceOf(Uint8Array);
    // Alpha is resized on its own (bilinear): a column pattern 0/255 becomes a ramp, never RGB-influenced.
    const flat = new Uint8Array(w * h * 4).fill(200);
    for (let i = 0; i < w * h; i++) flat[i * 4 + 3] = 77;
    const o2 = await upscale(vae, { width: w, height: h, channels: 4, data: flat });
    for (let i = 0; i < 26 * 14; i++) expect(o2.data[i * 4 + 3]).toBe(77);
  });

  test('untiled upscale of a multiple-of-8 image equals decode(encode(x).mean)', async () => {
    const vae = await tinyVae();
    const img = toFloat(await photo('coffee.png', 40, 24));
    const out = await upscale(vae, img, { tile: 0 });
    const x = C.tidy(() => C.sub(C.mul(C.transpose(C.tensor(Array.from(img.data), [1, 24, 40, 3]), [0, 3, 1, 2]), 2), 1));
    const post = vae.encode(x);
    const ref = C.tidy(() => C.div(C.add(C.clamp(vae.decode(post.mean), -1, 1), 1), 2));
    const r = (await C.tidy(() => C.transpose(ref, [0, 2, 3, 1])).data()) as Float32Array;
    C.dispose([x, ref]);
    post.dispose();
    let max = 0;
    for (let i = 0; i < r.length; i++) max = Math.max(max, Math.abs(r[i]! - out.data[i]!));
    expect(max).toBeLessThan(1e-5);
  });

  test('reflect padding: a size that is not a multiple of 8 is padded, not stretched', async () => {
    const vae = await tinyVae();
    const full = toFloat(await photo('coffee.png', 48, 32));
    const crop = toFloat(await photo('coffee.png', 45, 30));
    const a = await upscale(vae, full, { tile: 0 });
    const b = await upscale(vae, crop, { tile: 0 });
    expect([b.width, b.height]).toEqual([90, 60]);
    // The top-left interior agrees with the unpadded image's decode (differences only from the border).
    let sum = 0;
    let count = 0;
    for (let y = 0; y < 40; y++) for (let x = 0; x < 60; x++) for (let c = 0; c < 3; c++) {
      sum += Math.abs(a.data[(y * 96 + x) * 3 + c]! - b.data[(y * 90 + x) * 3 + c]!);
      count++;
    }
    expect(sum / count).toBeLessThan(0.05);
  });

  // Tolerance stated: tiles of 96 px with 48 px overlap on chelsea.png resized to 150x100 (6 tiles)
  // against the untiled result, in [0, 1] units: mean |err| < 0.06, and 90% of samples within 0.15.
  // The fixture's random weights spread tile-border effects far (a 16x decoder's receptive field spans
  // ~18 latent pixels); a purely local model tiles exactly (tiling.test.ts).
  test('tiled and untiled agree on a real photo (chelsea.png)', async () => {
    const vae = await tinyVae();
    const { data, info } = await sharp(path.join(imagesDir, 'chelsea.png')).resize(150, 100).raw().toBuffer({ resolveWithObject: true });
    const img: Raster<Float32Array> = { width: info.width, height: info.height, channels: 3, data: Float32Array.from(data, (v) => v / 255) };
    const whole = await upscale(vae, img, { tile: 0 });
    const events: number[] = [];
    const tiled = await upscale(vae, img, { tile: 96, overlap: 48, onProgress: (p) => events.push(p.fraction) });
    const diffs = whole.data.map((v, i) => Math.abs(v - tiled.data[i]!));
    const mean = diffs.reduce((a, b) => a + b, 0) / diffs.length;
    const p90 = [...diffs].sort((a, b) => a - b)[Math.floor(diffs.length * 0.9)]!;
    console.log(`[vae tiling] chelsea 150x100, tile 96 / overlap 48 vs untiled: mean |err| ${mean.toFixed(4)}, p90 ${p90.toFixed(4)}, max ${diffs.reduce((a, b) => Math.max(a, b), 0).toFixed(3)}`);
    expect(mean).toBeLessThan(0.06);
    expect(p90).toBeLessThan(0.15);
    expect(events.length).toBe(12);
    expect(events[events.length - 1]).toBeCloseTo(1, 5);
  });

  test('progress reports an ETA and an AbortSignal stops the work', async () => {
    const vae = await tinyVae();
    const img = toFloat(await photo('coffee.png', 128, 128));
    const ac = new AbortController();
    const seen: (number | undefined)[] = [];
    const before = C.memory().numTensors;
    const p = upscale(vae, img, {
      tile: 32,
      overlap: 8,
      signal: ac.signal,
      onProgress: (e) => {
        seen.push(e.etaMs);
        if (e.done === 3) ac.abort();
      },
    });
    await expect(p).rejects.toBeInstanceOf(C.AbortError);
    expect(seen.length).toBe(3);
    expect(seen[2]).toBeTypeOf('number');
    expect(C.memory().numTensors).toBe(before);
  });

  test('batched frames give the same result as single images and identical frames give identical outputs', async () => {
    const vae = await tinyVae();
    const img = await photo('chelsea.png', 64, 40);
    const [a, b] = await upscaleBatch(vae, [img, img], { tile: 32, overlap: 8 });
    const single = await upscale(vae, img, { tile: 32, overlap: 8 });
    expect(Buffer.from(a!.data).equals(Buffer.from(b!.data))).toBe(true);
    let max = 0;
    for (let i = 0; i < single.data.length; i++) max = Math.max(max, Math.abs(single.data[i]! - a!.data[i]!));
    expect(max).toBeLessThanOrEqual(1);
  });

  test('bad inputs give InputErrors', async () => {
    const vae = await tinyVae();
    await expect(upscale(vae, { width: 0, height: 4, channels: 3, data: new Uint8Array(0) })).rejects.toBeInstanceOf(C.InputError);
    await expect(upscale(vae, { width: 2, height: 2, channels: 3, data: new Uint8Array(5) })).rejects.toThrow(/needs 12/);
    await expect(upscale(vae, { width: 100, height: 100, channels: 3, data: new Uint8Array(30000) }, { maxInputPixels: 1000 })).rejects.toThrow(/maxInputPixels/);
    await expect(upscale(vae, { width: 16, height: 16, channels: 3, data: new Uint8Array(768) }, { tile: 12 })).rejects.toThrow(/multiple of 8/);
  });
});
