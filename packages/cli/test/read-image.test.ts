import { promises as fs } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, test } from 'vitest';
import { readInputImage } from '../src/read-image.js';
import { tempDir } from './helpers.js';

describe('readInputImage (generate --image)', () => {
  test('an animated WebP gives its first frame and a warning that says so, not silence', async () => {
    const dir = await tempDir('sdxs-cli-read-image-');
    const raw = new Uint8Array(8 * 18 * 3).map((_, i) => (i * 29) & 255);
    await sharp(raw, { raw: { width: 8, height: 18, channels: 3, pageHeight: 6 } }).webp({ lossless: true, delay: [100, 100, 100] }).toFile(path.join(dir, 'a.webp'));
    const warnings: string[] = [];
    const img = await readInputImage(path.join(dir, 'a.webp'), {}, (m) => warnings.push(m));
    expect([img.width, img.height]).toEqual([8, 6]);
    expect(warnings).toEqual([`'${path.join(dir, 'a.webp')}' has 3 frames or pages; only the first is used`]);
    await sharp(raw, { raw: { width: 8, height: 18, channels: 3 } }).png().toFile(path.join(dir, 'still.png'));
    const none: string[] = [];
    await readInputImage(path.join(dir, 'still.png'), {}, (m) => none.push(m));
    expect(none).toEqual([]);
  });

  test('SDXS_MAX_IMAGE_BYTES and SDXS_MAX_IMAGE_PIXELS bound the file before it is read', async () => {
    const dir = await tempDir('sdxs-cli-read-image-');
    await sharp({ create: { width: 40, height: 30, channels: 3, background: '#808080' } }).png().toFile(path.join(dir, 'a.png'));
    const size = (await fs.stat(path.join(dir, 'a.png'))).size;
    await expect(readInputImage(path.join(dir, 'a.png'), { SDXS_MAX_IMAGE_BYTES: String(size - 1) })).rejects.toThrow(/over the limit of .*SDXS_MAX_IMAGE_BYTES/);
    await expect(readInputImage(path.join(dir, 'a.png'), { SDXS_MAX_IMAGE_BYTES: 'x' })).rejects.toThrow(/SDXS_MAX_IMAGE_BYTES must be a positive integer/);
    expect((await readInputImage(path.join(dir, 'a.png'), { SDXS_MAX_IMAGE_BYTES: String(size) })).width).toBe(40);
  });
});
