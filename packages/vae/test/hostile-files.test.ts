/**
 * Image files a hostile user can hand us (devices, FIFOs, huge sparse files, animations) and outputs
 * that cannot be written (full disk, read-only folder, a size the format cannot hold).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as C from '@sdxs/core';
import { maxImageBytesFor, maxImageBytesFrom, sniffImageFormat } from '../src/index.js';
import { ImageError, ImageWriteError, inspectImageFile, readImage, readImageFrames, upscaleImageFile, writeImage, writeImageFrames } from '../src/node/index.js';
import { tinyVae } from './helpers/model.js';

let dir: string;
const at = (name: string): string => path.join(dir, name);
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sdxs-vae-hostile-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function errorOf(p: Promise<unknown>): Promise<Error> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(Error);
  return e as Error;
}

const hasMkfifo = spawnSync('mkfifo', ['--version']).status === 0;

describe('non-regular image files are refused at once', () => {
  test.each([
    ['a character device', '/dev/zero', 'zero.png'],
    ['a character device behind a symlink', '/dev/urandom', 'random.png'],
  ])('%s is refused without being read', async (_what, device, name) => {
    if (!existsSync(device)) return console.warn(`skipped: no ${device}`);
    await fs.symlink(device, at(name));
    const t0 = performance.now();
    const e = await errorOf(readImage(at(name)));
    expect(e).toBeInstanceOf(ImageError);
    expect(e.message).toMatch(/is a character device.*not a regular/);
    if (name === 'random.png') expect(e.message).toMatch(/through a symlink/);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(process.memoryUsage().rss).toBeLessThan(2 ** 31);
  });

  test('a character device given directly is refused', async () => {
    if (!existsSync('/dev/zero')) return console.warn('skipped: no /dev/zero');
    await expect(readImage('/dev/zero')).rejects.toThrow(/character device/);
    await expect(inspectImageFile('/dev/null')).rejects.toThrow(/character device/);
  });

  test('a FIFO named .png is refused instead of blocking forever', async () => {
    if (!hasMkfifo) return console.warn('skipped: no mkfifo');
    execFileSync('mkfifo', [at('pipe.png')]);
    await fs.symlink(at('pipe.png'), at('pipe-link.webp'));
    for (const f of [at('pipe.png'), at('pipe-link.webp')]) {
      const e = await errorOf(readImage(f));
      expect(e).toBeInstanceOf(ImageError);
      expect(e.message).toMatch(/FIFO/);
    }
  });

  test('a folder named .png is refused', async () => {
    await fs.mkdir(at('folder.png'));
    await expect(readImage(at('folder.png'))).rejects.toThrow(/is a folder/);
  });
});

describe('image files are sniffed and size-capped before they are read whole', () => {
  test('a huge sparse file with a PNG signature is refused from its size, without reading it', async () => {
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } }).png().toBuffer();
    const fh = await fs.open(at('sparse.png'), 'w');
    await fh.write(png, 0, png.length, 0);
    await fh.truncate(1.5 * 2 ** 30);
    await fh.close();
    const rss0 = process.memoryUsage().rss;
    const t0 = performance.now();
    const e = await errorOf(readImage(at('sparse.png')));
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(process.memoryUsage().rss - rss0).toBeLessThan(64 << 20);
    expect(e).toMatchObject({ reason: 'too-large' });
    expect(e.message).toMatch(/1610612736 bytes, over the limit of 553648128.*SDXS_MAX_IMAGE_BYTES or SDXS_MAX_IMAGE_PIXELS/);
  });

  test('a file far larger than its header dimensions need is refused before it is read whole', async () => {
    const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#808080' } }).png().toBuffer();
    const fh = await fs.open(at('padded.png'), 'w');
    await fh.write(png, 0, png.length, 0);
    await fh.truncate(64 << 20);
    await fh.close();
    const e = await errorOf(readImage(at('padded.png')));
    expect(e).toMatchObject({ reason: 'too-large' });
    expect(e.message).toMatch(/more than a 4x4 image can need/);
  });

  test('a file that is no image format is refused from its first bytes', async () => {
    const fh = await fs.open(at('noise.png'), 'w');
    await fh.write(Buffer.from('not an image, just words'), 0, 24, 0);
    await fh.truncate(200 << 20);
    await fh.close();
    const rss0 = process.memoryUsage().rss;
    const e = await errorOf(readImage(at('noise.png')));
    expect(e).toMatchObject({ reason: 'unsupported' });
    expect(process.memoryUsage().rss - rss0).toBeLessThan(64 << 20);
  });

  test('the file size limit follows the pixel limit, and SDXS_MAX_IMAGE_BYTES sets it directly', async () => {
    expect(maxImageBytesFor(1000)).toBe(8000 + (16 << 20));
    expect(maxImageBytesFrom(undefined, 1000)).toBe(maxImageBytesFor(1000));
    expect(maxImageBytesFrom('12345')).toBe(12345);
    expect(() => maxImageBytesFrom('-1')).toThrow(/SDXS_MAX_IMAGE_BYTES/);
    const png = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#808080' } }).png().toBuffer();
    await fs.writeFile(at('small.png'), png);
    await expect(readImage(at('small.png'), { maxBytes: 10 })).rejects.toThrow(/over the limit of 10/);
    expect((await readImage(at('small.png'))).width).toBe(40);
    expect(sniffImageFormat(png)).toBe('png');
    expect(sniffImageFormat(await sharp(png).tiff().toBuffer())).toBe('tiff');
    expect(sniffImageFormat(await sharp(png).avif().toBuffer())).toBe('heif');
    expect(sniffImageFormat(await sharp(png).jpeg().toBuffer())).toBe('jpeg');
  });
});

/** Mounts a small tmpfs (root only); undefined with the reason printed when that is not possible. */
function smallDisk(name: string, options: string): string | undefined {
  const mnt = at(name);
  execFileSync('mkdir', ['-p', mnt]);
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', mnt]);
  if (r.status !== 0) {
    console.warn(`skipped: cannot mount a tmpfs (${String(r.stderr).trim() || 'not root'})`);
    return undefined;
  }
  return mnt;
}
const unmount = (mnt: string): void => void spawnSync('umount', [mnt]);

describe('outputs that cannot be written are runtime errors that say why', () => {
  const big = { width: 256, height: 256, channels: 3 as const, data: new Uint8Array(randomBytes(256 * 256 * 3)) }; // incompressible: about 200 KB as PNG

  test('a full disk says the disk is full, is an OutputError (exit 1, not an input error), and leaves no partial file', async () => {
    const mnt = smallDisk('full', 'size=64k');
    if (!mnt) return;
    try {
      const e = await errorOf(writeImage(path.join(mnt, 'out.png'), big));
      expect(e).toBeInstanceOf(ImageWriteError);
      expect(e).toBeInstanceOf(C.OutputError);
      expect(e).not.toBeInstanceOf(C.InputError);
      expect((e as C.SdxsError).code).toBe('OUTPUT');
      expect(e.message).toMatch(/out\.png: cannot write the image: the disk is full \(no space left on the device\) \(ENOSPC\)/);
      expect(await fs.readdir(mnt)).toEqual([]);
    } finally {
      unmount(mnt);
    }
  });

  test('a read-only folder says so and is an OutputError', async () => {
    let folder: string;
    let cleanup = (): void => {};
    if (process.getuid?.() === 0) {
      const mnt = smallDisk('ro', 'size=64k,ro');
      if (!mnt) return;
      folder = mnt;
      cleanup = () => unmount(mnt);
    } else {
      folder = at('readonly');
      await fs.mkdir(folder);
      await fs.chmod(folder, 0o555);
    }
    try {
      const e = await errorOf(writeImage(path.join(folder, 'out.png'), big));
      expect(e).toBeInstanceOf(C.OutputError);
      expect(e.message).toMatch(/read-only file system|not writable/);
    } finally {
      cleanup();
    }
  });

  test('an image over the JPEG or WebP size limit is refused before encoding, and before upscaling', async () => {
    const wide = { width: 20000, height: 1, channels: 3 as const, data: new Uint8Array(20000 * 3) };
    const t0 = performance.now();
    await expect(writeImage(at('wide.webp'), wide)).rejects.toThrow(/over the WEBP limit of 16383 pixels a side; write \.png or .*\.tiff/);
    await expect(writeImage(at('huge.jpg'), { width: 70000, height: 1, channels: 3, data: new Uint8Array(70000 * 3) })).rejects.toThrow(/JPEG limit of 65535/);
    // 1x10000 in, 2x20000 out: WebP cannot hold it; refused before the model runs
    await sharp({ create: { width: 10000, height: 1, channels: 3, background: '#808080' } }).png().toFile(at('strip.png'));
    const vae = await tinyVae();
    const e = await errorOf(upscaleImageFile(vae, at('strip.png'), at('strip-2x.webp')));
    expect(e.message).toMatch(/20000x2 image is over the WEBP limit/);
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(existsSync(at('strip-2x.webp'))).toBe(false);
  });
});

describe('animated WebP and multi-page TIFF', () => {
  async function animation(file: string, format: 'webp' | 'tiff', frames: number, w: number, h: number): Promise<Uint8Array[]> {
    const parts = Array.from({ length: frames }, (_, k) => Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 13 + k * 80) & 255));
    await writeImageFrames(file, parts.map((data) => ({ width: w, height: h, channels: 3 as const, data })), { format, delay: [120, 40, 300].slice(0, frames) });
    return parts;
  }

  test('readImage says how many frames a file has; readImageFrames decodes them all', async () => {
    await animation(at('anim.webp'), 'webp', 3, 16, 8);
    const first = await readImage(at('anim.webp'));
    expect(first.pages).toBe(3);
    const all = await readImageFrames(at('anim.webp'));
    expect(all.frames.length).toBe(3);
    expect(all.delay).toEqual([120, 40, 300]);
    expect(Buffer.from(all.frames[0]!.data).equals(Buffer.from(first.data))).toBe(true);
    expect(Buffer.from(all.frames[1]!.data).equals(Buffer.from(all.frames[0]!.data))).toBe(false);
  });

  test.each([['webp'], ['tiff']] as const)('every frame of an animated %s is upscaled into an animation of the same format', async (format) => {
    await animation(at(`frames.${format}`), format, 3, 16, 8);
    const vae = await tinyVae();
    const r = await upscaleImageFile(vae, at(`frames.${format}`), at(`frames-2x.${format}`));
    expect(r).toEqual({ width: 32, height: 16, frames: 3 });
    const meta = await sharp(at(`frames-2x.${format}`)).metadata();
    expect(meta.pages).toBe(3);
    expect(meta.width).toBe(32);
    if (format === 'webp') expect(meta.delay).toEqual([120, 40, 300]);
    const out = await readImageFrames(at(`frames-2x.${format}`));
    const still = await readImage(at(`frames.${format}`));
    const one = await upscaleImageFile(vae, at(`frames.${format}`), at(`first-only-2x.png`)).catch((e: unknown) => e);
    expect(one).toBeInstanceOf(ImageError);
    expect((one as Error).message).toMatch(/has 3 frames but PNG holds one; write \.webp or \.tiff/);
    expect(still.pages).toBe(3);
    expect(out.frames.length).toBe(3);
  });

  test('an animation counts against the pixel limit as a whole', async () => {
    await animation(at('many.webp'), 'webp', 3, 16, 8);
    await expect(readImageFrames(at('many.webp'), { maxPixels: 16 * 8 * 2 })).rejects.toThrow(/animation of 3 frames of 16x8 = 384 pixels, over the limit of 256/);
  });
});
