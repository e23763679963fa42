import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DEFAULT_MAX_IMAGE_PIXELS, imageSizeFromHeader, maxImagePixelsFrom } from '../src/index.js';
import { ImageError, readImage, upscaleImageFile, writeImage } from '../src/node/index.js';
import { decodeStrictly } from '../src/node/image-io.js';
import { jpegBomb } from './helpers/hostile-images.js';
import { imagesDir } from './helpers/fixtures.js';
import { tinyVae } from './helpers/model.js';

let dir: string;
const chelsea = path.join(imagesDir, 'chelsea.png');
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sdxs-vae-io-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});
const at = (name: string): string => path.join(dir, name);

describe('readImage / writeImage', () => {
  test.each(['png', 'jpg', 'webp', 'avif', 'tiff'])('%s round trip', async (ext) => {
    const src = await readImage(chelsea);
    expect([src.width, src.height, src.channels, src.bitDepth]).toEqual([451, 300, 3, 8]);
    await writeImage(at(`rt.${ext}`), src);
    const back = await readImage(at(`rt.${ext}`));
    expect([back.width, back.height, back.channels]).toEqual([451, 300, 3]);
    let sum = 0;
    for (let i = 0; i < src.data.length; i++) sum += Math.abs(src.data[i]! - back.data[i]!);
    expect(sum / src.data.length).toBeLessThan(ext === 'avif' ? 6 : 3);
  });

  test('EXIF orientation is applied', async () => {
    await sharp(chelsea).withMetadata({ orientation: 6 }).jpeg().toFile(at('rot.jpg'));
    const img = await readImage(at('rot.jpg'));
    expect([img.width, img.height]).toEqual([300, 451]);
  });

  test('16-bit PNG stays 16-bit; grayscale, CMYK and gray+alpha become RGB(A)', async () => {
    await sharp(chelsea).toColourspace('rgb16').png().toFile(at('deep.png'));
    const deep = await readImage(at('deep.png'));
    expect(deep.bitDepth).toBe(16);
    expect(deep.data).toBeInstanceOf(Uint16Array);
    await writeImage(at('deep-out.png'), deep);
    expect((await sharp(at('deep-out.png')).metadata()).depth).toBe('ushort');

    const gray = await readImage(path.join(imagesDir, 'camera.png'));
    expect([gray.channels, gray.width]).toEqual([3, 512]);
    expect(gray.data[0]).toBe(gray.data[1]);

    await sharp(chelsea).toColourspace('cmyk').jpeg().toFile(at('cmyk.jpg'));
    expect((await sharp(at('cmyk.jpg')).metadata()).space).toBe('cmyk');
    const cmyk = await readImage(at('cmyk.jpg'));
    expect(cmyk.channels).toBe(3);
    expect(cmyk.icc).toBeUndefined();

    await sharp(path.join(imagesDir, 'camera.png')).ensureAlpha(0.5).png().toFile(at('ga.png'));
    const ga = await readImage(at('ga.png'));
    expect(ga.channels).toBe(4);
    expect(Math.abs(ga.data[3]! - 128)).toBeLessThanOrEqual(1);
  });

  test('the ICC profile is kept', async () => {
    await sharp(chelsea).withIccProfile('p3').png().toFile(at('p3.png'));
    const img = await readImage(at('p3.png'));
    expect(img.icc?.length).toBeGreaterThan(100);
    await writeImage(at('p3-out.png'), img, { icc: img.icc });
    const meta = await sharp(at('p3-out.png')).metadata();
    expect(Buffer.from(meta.icc!).equals(Buffer.from(img.icc!))).toBe(true);
    const back = await readImage(at('p3-out.png'));
    let max = 0;
    for (let i = 0; i < img.data.length; i++) max = Math.max(max, Math.abs(img.data[i]! - back.data[i]!));
    expect(max).toBeLessThanOrEqual(2);
  });

  test('bad files give typed errors', async () => {
    const reason = async (p: string): Promise<string> => {
      try {
        await readImage(p);
        return 'none';
      } catch (e) {
        expect(e).toBeInstanceOf(ImageError);
        return (e as ImageError).reason;
      }
    };
    expect(await reason(at('missing.png'))).toBe('not-found');
    await fs.writeFile(at('empty.png'), '');
    expect(await reason(at('empty.png'))).toBe('empty');
    await fs.writeFile(at('text.png'), 'this is not an image at all');
    expect(await reason(at('text.png'))).toBe('unsupported');
    const png = await fs.readFile(chelsea);
    await fs.writeFile(at('trunc.png'), png.subarray(0, png.length >> 1));
    expect(await reason(at('trunc.png'))).toBe('corrupt');
    await sharp({ create: { width: 64, height: 64, channels: 3, background: '#808080' } }).png().toFile(at('big.png'));
    await expect(readImage(at('big.png'), { maxPixels: 1000 })).rejects.toMatchObject({ reason: 'too-large' });
    expect(await reason(dir)).toBe('invalid');
    await expect(writeImage(at('x.bmp'), { width: 1, height: 1, channels: 3, data: new Uint8Array(3) })).rejects.toMatchObject({ reason: 'unsupported' });
  });

  test('a failed write leaves no file behind', async () => {
    const before = await fs.readdir(dir);
    await expect(writeImage(at('bad.png'), { width: 4, height: 4, channels: 3, data: new Uint8Array(5) })).rejects.toThrow();
    expect(await fs.readdir(dir)).toEqual(before);
  });

  test('upscaleImageFile: RGBA PNG in, 2x RGBA PNG out with the ICC profile', async () => {
    const vae = await tinyVae();
    await sharp(chelsea).extract({ left: 0, top: 0, width: 37, height: 21 }).ensureAlpha(0.75).withIccProfile('p3').png().toFile(at('small.png'));
    const size = await upscaleImageFile(vae, at('small.png'), at('small-2x.png'));
    expect(size).toEqual({ width: 74, height: 42, frames: 1 });
    const meta = await sharp(at('small-2x.png')).metadata();
    expect([meta.width, meta.height, meta.channels, meta.hasAlpha]).toEqual([74, 42, 4, true]);
    expect(meta.icc?.length).toBeGreaterThan(100);
  });
});

describe('hostile images', () => {
  test('a decompression bomb is refused from its header, before decoding', async () => {
    const bomb = await jpegBomb(16000, 16000);
    expect(bomb.length).toBeLessThan(10_000);
    expect(imageSizeFromHeader(bomb)).toEqual({ width: 16000, height: 16000, format: 'jpeg' });
    const before = process.memoryUsage().rss;
    const err = await readImage(bomb).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageError);
    expect(err).toMatchObject({ reason: 'too-large' });
    expect(String((err as Error).message)).toMatch(/16000x16000.*SDXS_MAX_IMAGE_PIXELS/);
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * 2 ** 20);
  });

  test('a file whose pixel data is mostly missing is an error, not a grey picture', async () => {
    const bomb = await jpegBomb(2000, 2000);
    await expect(readImage(bomb)).rejects.toMatchObject({ reason: 'corrupt' });
  });

  test('the limit is one documented value a user can raise', async () => {
    expect(DEFAULT_MAX_IMAGE_PIXELS).toBe(8192 * 8192);
    expect(maxImagePixelsFrom(undefined)).toBe(DEFAULT_MAX_IMAGE_PIXELS);
    expect(maxImagePixelsFrom('100000000')).toBe(100_000_000);
    expect(() => maxImagePixelsFrom('-5')).toThrow(/SDXS_MAX_IMAGE_PIXELS/);
    const img = await readImage(await sharp({ create: { width: 40, height: 30, channels: 3, background: '#808080' } }).png().toBuffer(), { maxPixels: 1200 });
    expect([img.width, img.height]).toEqual([40, 30]);
  });

  test('header sizes of PNG, WebP and GIF', async () => {
    const base = sharp({ create: { width: 37, height: 21, channels: 3, background: '#808080' } });
    expect(imageSizeFromHeader(await base.clone().png().toBuffer())).toEqual({ width: 37, height: 21, format: 'png' });
    expect(imageSizeFromHeader(await base.clone().webp().toBuffer())).toMatchObject({ width: 37, height: 21 });
    expect(imageSizeFromHeader(await base.clone().webp({ lossless: true }).toBuffer())).toMatchObject({ width: 37, height: 21 });
    expect(imageSizeFromHeader(await base.clone().gif().toBuffer())).toMatchObject({ width: 37, height: 21 });
    expect(imageSizeFromHeader(new Uint8Array([1, 2, 3]))).toBeUndefined();
  });

  test('a write error is labelled as one, not as a corrupt image', async () => {
    await fs.writeFile(at('a-file'), 'x');
    const err = await writeImage(at('a-file/out.png'), { width: 1, height: 1, channels: 3, data: new Uint8Array(3) }).catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: 'write-failed' });
    expect((err as Error).message).toMatch(/cannot write/);
    expect((err as Error).message).not.toMatch(/corrupt|decode/);
  });

  test('a JPEG missing its scan is labelled corrupt, not "file not found"', async () => {
    const jpg = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#808080' } }).jpeg().toBuffer();
    const sos = jpg.indexOf(Buffer.from([0xff, 0xda]));
    const err = await readImage(Buffer.concat([jpg.subarray(0, sos), Buffer.from([0xff, 0xd9])])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageError);
    expect((err as ImageError).reason).not.toBe('not-found');
  });
});

describe('strict decoding when another decode took the warnings', () => {
  // sharp keeps libvips' warnings in one queue per process: a decode beside ours can pop them, and our strict
  // failure then reads only "Warning treated as error due to failOn setting".
  const unexplained = new Error('Warning treated as error due to failOn setting');
  test('an unexplained strict failure is retried strictly and the truncation it then names is an error', async () => {
    const calls: string[] = [];
    const decode = async (failOn: 'warning' | 'error'): Promise<string> => {
      calls.push(failOn);
      if (failOn === 'error') return 'grey picture';
      if (calls.length === 1) throw unexplained;
      throw new Error('Warning treated as error due to failOn setting\nVipsJpeg: Corrupt JPEG data: premature end of data segment');
    };
    await expect(decodeStrictly(decode)).rejects.toThrow(/premature end/);
    expect(calls).toEqual(['warning', 'warning']);
  });
  test('a failure that never says why is refused, never decoded tolerantly', async () => {
    const calls: string[] = [];
    const decode = async (failOn: 'warning' | 'error'): Promise<string> => {
      calls.push(failOn);
      if (failOn === 'error') return 'grey picture';
      throw unexplained;
    };
    await expect(decodeStrictly(decode)).rejects.toThrow(/did not name/);
    expect(calls.every((c) => c === 'warning')).toBe(true);
  });
  test('a named harmless warning is decoded tolerantly', async () => {
    const decode = async (failOn: 'warning' | 'error'): Promise<string> => {
      if (failOn === 'warning') throw new Error('Warning treated as error due to failOn setting\nVipsJpeg: Corrupt JPEG data: 3 extraneous bytes before marker 0xd9');
      return 'picture';
    };
    await expect(decodeStrictly(decode)).resolves.toBe('picture');
  });
});
