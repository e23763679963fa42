import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as C from '@sdxs/core';
import { runDataCaption, sidecarCaptions } from '../src/index.js';
import { makeTinyModel } from '../../../tools/make-tiny-model.js';

let dir: string;
let model: string;
let images: string;

beforeAll(async () => {
  await C.setBackend('cpu');
  dir = await mkdtemp(path.join(tmpdir(), 'sdxs-caption-'));
  model = await makeTinyModel(path.join(dir, 'model'));
  images = path.join(dir, 'images');
  await mkdir(path.join(images, 'sub'), { recursive: true });
  const raw = (r: number, g: number): Buffer => Buffer.from(Array.from({ length: 40 * 30 * 3 }, (_, i) => (i % 3 === 0 ? r : i % 3 === 1 ? g : (i * 7) % 256)));
  await sharp(raw(200, 20), { raw: { width: 40, height: 30, channels: 3 } }).png().toFile(path.join(images, 'a.png'));
  await sharp(raw(20, 200), { raw: { width: 40, height: 30, channels: 3 } }).jpeg().toFile(path.join(images, 'sub', 'b.jpg'));
  await sharp(raw(90, 90), { raw: { width: 40, height: 30, channels: 3 } }).png().toFile(path.join(images, 'c.png'));
  await writeFile(path.join(images, 'c.txt'), 'a grey square on a table.\n');
  await writeFile(path.join(images, 'broken.png'), 'not an image');
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('sdxs data caption', () => {
  test('captions only the images without captions, and a rerun captions nothing', async () => {
    let out = '';
    const io = { stdout: { write: (s: string) => (out += s) }, stderr: { write: () => true } };
    const r = await runDataCaption(['--in', images, '--model', model, '--max-tokens', '4', '--backend', 'cpu', '--json'], io);
    expect(r!.captioned).toEqual(['a.png', 'sub/b.jpg']);
    expect(r!.kept).toEqual(['c.png']);
    expect(r!.failed.map((f) => f.file)).toEqual(['broken.png']);
    expect(JSON.parse(out)).toMatchObject({ captioned: ['a.png', 'sub/b.jpg'], kept: 1 });
    for (const f of ['a.caption.txt', 'sub/b.caption.txt']) expect(existsSync(path.join(images, f))).toBe(true);
    // what convert will read
    expect(typeof sidecarCaptions(path.join(images, 'a.png')).text).toBe('string');
    expect(readFileSync(path.join(images, 'c.txt'), 'utf8')).toBe('a grey square on a table.\n');
    const again = await runDataCaption(['--in', images, '--model', model, '--max-tokens', '4', '--backend', 'cpu', '--json'], { stdout: { write: () => true }, stderr: { write: () => true } });
    expect(again!.captioned).toEqual([]);
  }, 120_000);

  test('--in and --model are required', async () => {
    await expect(runDataCaption(['--model', model])).rejects.toThrow(/--in is required/);
    await expect(runDataCaption(['--in', images])).rejects.toThrow(/--model is required/);
  });
});
