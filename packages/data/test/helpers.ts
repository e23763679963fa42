import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const here = path.dirname(fileURLToPath(import.meta.url));
export const SHARED = path.resolve(here, '../../../../shared');
export const FIXTURES = process.env.SDXS_FIXTURES ?? path.join(SHARED, 'fixtures');
export const IMAGES = path.join(SHARED, 'images');

export function tmp(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), `sdxs-data-${prefix}-`));
}

/** A gradient image with a coloured square, distinct per seed. */
export async function makeImage(file: string, width: number, height: number, seed: number, format: 'png' | 'jpeg' | 'webp' = 'png'): Promise<void> {
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = 3 * (y * width + x);
      raw[i] = (x * 255) / width;
      raw[i + 1] = (y * 255) / height;
      raw[i + 2] = (seed * 53) % 256;
    }
  }
  const img = sharp(raw, { raw: { width, height, channels: 3 } });
  await (format === 'png' ? img.png() : format === 'jpeg' ? img.jpeg() : img.webp()).toFile(file);
}

/**
 * A small collection: 6 generated images of several aspect ratios with captions in every convention,
 * a duplicate, a corrupt file, a truncated PNG, a tiny image, and the three shared photos.
 */
export async function makeCollection(): Promise<string> {
  const dir = tmp('in');
  mkdirSync(path.join(dir, 'sub'));
  await makeImage(path.join(dir, 'a.png'), 200, 100, 1);
  writeFileSync(path.join(dir, 'a.txt'), 'A wide gradient with a blue tint.');
  writeFileSync(path.join(dir, 'a.tags.txt'), '1girl, solo, long_hair');
  await makeImage(path.join(dir, 'b.png'), 100, 160, 2);
  writeFileSync(path.join(dir, 'b.txt'), 'outdoors, sky, no_humans');
  await makeImage(path.join(dir, 'c.jpg'), 128, 128, 3, 'jpeg');
  writeFileSync(path.join(dir, 'c.json'), JSON.stringify({ caption: 'a square', tags: ['red', 'square'] }));
  await makeImage(path.join(dir, 'sub', 'd.webp'), 300, 180, 4, 'webp');
  await makeImage(path.join(dir, 'e.png'), 90, 90, 5);
  await makeImage(path.join(dir, 'f.png'), 140, 70, 6);
  cpSync(path.join(dir, 'a.png'), path.join(dir, 'sub', 'a-copy.png'));
  writeFileSync(path.join(dir, 'broken.png'), Buffer.from('this is not a png at all'));
  const full = await sharp(path.join(dir, 'e.png')).png().toBuffer();
  writeFileSync(path.join(dir, 'truncated.png'), full.subarray(0, Math.floor(full.length / 2)));
  await makeImage(path.join(dir, 'tiny.png'), 12, 12, 7);
  for (const f of ['chelsea.png', 'coffee.png', 'camera.png']) cpSync(path.join(IMAGES, f), path.join(dir, 'photos', f), { recursive: true });
  writeFileSync(path.join(dir, 'metadata.csv'), 'file,text,tags\nphotos/chelsea.png,"A cat, sitting",cat\ne.png,from the manifest,\n');
  return dir;
}

/** Small buckets so tests stay fast: sides 64..128 step 32 (trained at 32..64). */
export const SMALL_BUCKETS = { min: 64, max: 128, step: 32 };
