import * as C from '@sdxs/core';
import { AsymmetricAutoencoderKL } from '@sdxs/vae';
import { readFileSync, rmSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { convertDataset } from '../src/convert.js';
import { runDataConvert } from '../src/cli.js';
import type { DatasetReport } from '../src/dataset-index.js';
import { DatasetReader } from '../src/reader.js';
import type { TextEncoderLike } from '../src/precompute.js';
import { FIXTURES, makeCollection, makeImage, SMALL_BUCKETS, tmp } from './helpers.js';
import { jpegBomb } from '../../vae/test/helpers/hostile-images.js';

let input = '';
beforeAll(async () => {
  await C.setBackend('cpu');
  input = await makeCollection();
});

/** A fake encoder: [1, 5, 4] states from the prompt's character codes, mask by length. */
const fakeText: TextEncoderLike = {
  encode(prompts) {
    const p = prompts[0]!;
    const s = new Float32Array(20).map((_, i) => (p.charCodeAt(i % Math.max(1, p.length)) || 0) / 100);
    const m = new Float32Array(5).map((_, i) => (i === 0 || i <= p.length ? 1 : 0));
    return { states: C.fromData(s, [1, 5, 4], 'float32'), mask: C.fromData(m, [1, 5], 'float32') };
  },
};

describe('convertDataset', () => {
  test('buckets, captions, duplicates, corrupt and tiny files', async () => {
    const out = tmp('out');
    const r = await convertDataset({ in: input, out, buckets: SMALL_BUCKETS, workers: 2, itemsPerShard: 4, precompute: { textEncoder: fakeText } });
    const bySource = new Map(r.index.items.map((it) => [it.source, it]));
    expect([...bySource.keys()].sort()).toEqual(['a.png', 'b.png', 'c.jpg', 'e.png', 'f.png', 'photos/camera.png', 'photos/chelsea.png', 'photos/coffee.png', 'sub/d.webp']);
    const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as DatasetReport;
    const reasons = Object.fromEntries(report.skipped.map((s) => [s.source, s.reason]));
    expect(reasons).toEqual({ 'broken.png': 'corrupt', 'truncated.png': 'corrupt', 'tiny.png': 'tiny', 'sub/a-copy.png': 'duplicate' });
    expect(report.skipped.find((s) => s.reason === 'duplicate')!.duplicateOf).toBe('a.png');
    // nearest ratio: 200x100 -> 128x64, 100x160 -> 64x96 (1.5 vs 1.6), 451x300 -> 96x64, camera 512^2 -> 128^2
    expect(bySource.get('a.png')!.bucket).toEqual([128, 64]);
    expect(bySource.get('b.png')!.bucket).toEqual([64, 96]);
    expect(bySource.get('photos/chelsea.png')!.bucket).toEqual([96, 64]);
    expect(bySource.get('photos/camera.png')!.bucket).toEqual([128, 128]);
    // captions: .txt + .tags.txt both kept; a tag-like .txt becomes tags; .json; manifest overrides
    expect(bySource.get('a.png')!.captions).toEqual({ text: 'A wide gradient with a blue tint.', tags: '1girl, solo, long_hair' });
    expect(bySource.get('b.png')!.captions).toEqual({ tags: 'outdoors, sky, no_humans' });
    expect(bySource.get('c.jpg')!.captions).toEqual({ text: 'a square', tags: 'red, square' });
    expect(bySource.get('photos/chelsea.png')!.captions).toEqual({ text: 'A cat, sitting', tags: 'cat' });
    expect(bySource.get('e.png')!.captions).toEqual({ text: 'from the manifest' });
    // tensors: half-size RGB (no VAE) and the conditioning of each caption kind
    const a = bySource.get('a.png')!;
    expect(a.fields).toEqual(['image_half', 'cond.text', 'mask.text', 'cond.tags', 'mask.tags']);
    const f = await C.loadSafetensors(path.join(out, a.shard));
    expect(f.info(`${a.id}.image_half`)).toMatchObject({ dtype: 'U8', shape: [3, 32, 64] });
    expect(f.info(`${a.id}.cond.text`)).toMatchObject({ dtype: 'F16', shape: [5, 4] });
    await f.close();
    const u = await C.loadSafetensors(path.join(out, 'uncond.safetensors'));
    expect(u.info('cond').shape).toEqual([5, 4]);
    await u.close();
  });

  test('resumes after an interruption, skipping finished parts', async () => {
    const out = tmp('resume');
    const first = await convertDataset({ in: input, out, buckets: SMALL_BUCKETS, workers: 2, itemsPerShard: 3 });
    const parts = readdirSync(out).filter((f) => /^part-.*\.json$/.test(f)).sort();
    expect(parts.length).toBe(5); // 13 sources / 3
    // simulate a kill during the last two parts: their JSON (the completion marker) is missing
    for (const p of parts.slice(-2)) rmSync(path.join(out, p));
    rmSync(path.join(out, 'index.json'));
    const again = await convertDataset({ in: input, out, buckets: SMALL_BUCKETS, workers: 2, itemsPerShard: 3 });
    expect(again.processed).toBe(13 - 9);
    expect(again.index.items.map((i) => i.id).sort()).toEqual(first.index.items.map((i) => i.id).sort());
    const nothing = await convertDataset({ in: input, out, buckets: SMALL_BUCKETS, workers: 1, itemsPerShard: 3 });
    expect(nothing.processed).toBe(0);
  });

  test('--shard i/n splits sources across machines and the merged index covers them all', async () => {
    const whole = await convertDataset({ in: input, out: tmp('whole'), buckets: SMALL_BUCKETS, workers: 2 });
    const out = tmp('split');
    const r0 = await convertDataset({ in: input, out, buckets: SMALL_BUCKETS, workers: 1, shard: { index: 0, count: 2 } });
    const r1 = await convertDataset({ in: input, out, buckets: SMALL_BUCKETS, workers: 1, shard: { index: 1, count: 2 } });
    expect(r0.processed + r1.processed).toBe(13);
    expect(r0.processed).toBeGreaterThan(0);
    expect(r1.processed).toBeGreaterThan(0);
    expect(r1.index.items.map((i) => i.source)).toEqual(whole.index.items.map((i) => i.source));
    expect(r1.report.counts).toEqual(whole.report.counts);
  });

  test('precomputes normalised VAE latents of the half-size image', async () => {
    const vae = await AsymmetricAutoencoderKL.fromPretrained(path.join(FIXTURES, 'diffusers', 'vae-tiny'));
    const out = tmp('vae');
    const r = await convertDataset({ in: input, out, buckets: SMALL_BUCKETS, workers: 2, precompute: { vae } });
    expect(r.index.latentSpace).toBe('normalized');
    expect(r.index.latentChannels).toBe(32);
    const a = r.index.items.find((i) => i.source === 'a.png')!;
    expect(a.fields).toEqual(['latent']);
    const f = await C.loadSafetensors(path.join(out, a.shard));
    // bucket 128x64 -> half 64x32 -> latent /8 = 8x4
    expect(f.info(`${a.id}.latent`)).toMatchObject({ dtype: 'F32', shape: [32, 4, 8] });
    await f.close();
    const reader = await DatasetReader.open(out, { batchSize: 2, seed: 1 });
    const b = await reader.next();
    expect(b.latents!.shape).toEqual([b.items.length, 32, b.bucket[1] / 16, b.bucket[0] / 16]);
    b.dispose();
    await reader.close();
    vae.dispose();
  });
});

describe('hostile images', () => {
  test('decompression bombs are refused from the header and mostly-missing data is corrupt, not grey', async () => {
    const dir = tmp('bombs');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path.join(dir, 'huge.jpg'), await jpegBomb(16000, 16000));
    writeFileSync(path.join(dir, 'hollow.jpg'), await jpegBomb(300, 300));
    await makeImage(path.join(dir, 'fine.png'), 200, 100, 1);
    const before = process.memoryUsage().rss;
    const r = await convertDataset({ in: dir, out: tmp('bombs-out'), buckets: SMALL_BUCKETS, workers: 1 });
    expect(r.index.items.map((it) => it.source)).toEqual(['fine.png']);
    const skipped = Object.fromEntries(r.report.skipped.map((s) => [s.source, s]));
    expect(skipped['huge.jpg']).toMatchObject({ reason: 'corrupt' });
    expect(skipped['huge.jpg']!.detail).toMatch(/16000x16000.*over the limit/);
    expect(skipped['hollow.jpg']).toMatchObject({ reason: 'corrupt' });
    expect(process.memoryUsage().rss - before).toBeLessThan(300 * 2 ** 20);
  });
});

describe('non-regular and oversized files named like images', () => {
  test('devices, FIFOs and huge sparse files are skipped at once with the reason; a symlink to an image is used', async () => {
    const { execFileSync } = await import('node:child_process');
    const { symlinkSync, openSync, writeSync, ftruncateSync, closeSync } = await import('node:fs');
    const sharp = (await import('sharp')).default;
    const dir = tmp('devices');
    await makeImage(path.join(dir, 'fine.png'), 200, 100, 1);
    await makeImage(path.join(dir, 'target.png'), 100, 200, 2);
    symlinkSync('/dev/zero', path.join(dir, 'zero.png'));
    symlinkSync('/dev/urandom', path.join(dir, 'random.jpg'));
    symlinkSync(path.join(dir, 'target.png'), path.join(dir, 'link.png'));
    execFileSync('mkfifo', [path.join(dir, 'fifo.png')]);
    // 1.5 GB with a PNG signature, nearly all a hole: refused from its size without being read
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } }).png().toBuffer();
    const fd = openSync(path.join(dir, 'sparse.png'), 'w');
    writeSync(fd, png);
    ftruncateSync(fd, 1.5 * 2 ** 30);
    closeSync(fd);
    const before = process.memoryUsage().rss;
    const t0 = performance.now();
    const r = await convertDataset({ in: dir, out: tmp('devices-out'), buckets: SMALL_BUCKETS, workers: 1 });
    expect(performance.now() - t0).toBeLessThan(20_000);
    expect(process.memoryUsage().rss - before).toBeLessThan(300 * 2 ** 20);
    expect(r.index.items.map((it) => it.source).sort()).toEqual(['fine.png', 'link.png']);
    const skipped = Object.fromEntries(r.report.skipped.map((s) => [s.source, s]));
    expect(skipped['zero.png']!.detail).toMatch(/character device \(through a symlink\)/);
    expect(skipped['random.jpg']!.detail).toMatch(/character device/);
    expect(skipped['fifo.png']!.detail).toMatch(/FIFO/);
    expect(skipped['sparse.png']!.detail).toMatch(/1610612736 bytes, over the limit/);
    expect(skipped['target.png']).toMatchObject({ reason: 'duplicate', duplicateOf: 'link.png' });
  }, 30_000);

  test('an animated WebP is not reduced to its first frame without a word: the item records its frame count', async () => {
    const sharp = (await import('sharp')).default;
    const dir = tmp('animated');
    const raw = new Uint8Array(160 * 240 * 3).map((_, i) => (i * 7 + Math.floor(i / (160 * 80 * 3)) * 50) & 255); // three different frames
    await sharp(raw, { raw: { width: 160, height: 240, channels: 3, pageHeight: 80 } }).webp({ delay: [100, 100, 100], loop: 0 }).toFile(path.join(dir, 'anim.webp'));
    await makeImage(path.join(dir, 'still.png'), 200, 100, 1);
    const r = await convertDataset({ in: dir, out: tmp('animated-out'), buckets: SMALL_BUCKETS, workers: 1 });
    const bySource = Object.fromEntries(r.index.items.map((it) => [it.source, it]));
    expect(bySource['anim.webp']).toMatchObject({ frames: 3, size: [160, 80] });
    expect(bySource['still.png']!.frames).toBeUndefined();
  });
});

describe('runDataConvert', () => {
  test('parses --buckets, --shard and --workers, and --merge-only rebuilds the index', async () => {
    const out = tmp('cli');
    const r = await runDataConvert(['--in', input, '--out', out, '--buckets', '64:128:32', '--shard', '0/1', '--workers', '1']);
    expect(r!.report.items).toBe(9);
    rmSync(path.join(out, 'index.json'));
    await runDataConvert(['--out', out, '--merge-only']);
    expect(JSON.parse(readFileSync(path.join(out, 'index.json'), 'utf8')).items.length).toBe(9);
    await expect(runDataConvert(['--in', input, '--out', out, '--shard', '3'])).rejects.toThrow(/i\/n/);
  });

  test('the summary says how many images were too small and which flags keep them; the index is not printed', async () => {
    const out = tmp('summary');
    const err: string[] = [];
    const std: string[] = [];
    await runDataConvert(['--in', input, '--out', out, '--buckets', '64:128:32', '--workers', '1'], { stderr: { write: (s: string) => err.push(s) }, stdout: { write: (s: string) => std.push(s) } });
    expect(std).toEqual([]);
    const summary = err.at(-1)!;
    expect(summary).toMatch(/9 items/);
    expect(summary).toMatch(/1 images were smaller than --min-side.*--buckets/);
    expect(summary.length).toBeLessThan(600);
  });

  test('SDXS_BACKEND is honoured for precompute, as by every sdxs command', async () => {
    const saved = process.env.SDXS_BACKEND;
    process.env.SDXS_BACKEND = 'no-such-backend';
    try {
      await expect(runDataConvert(['--in', input, '--out', tmp('env'), '--vae', path.join(FIXTURES, 'diffusers/vae-tiny')])).rejects.toThrow(/no-such-backend/);
    } finally {
      if (saved === undefined) delete process.env.SDXS_BACKEND;
      else process.env.SDXS_BACKEND = saved;
      await C.setBackend('cpu');
    }
  });

  test('the abort signal reaches the conversion: Ctrl-C stops it, and a rerun resumes', async () => {
    const out = tmp('abort');
    const ac = new AbortController();
    const lines: string[] = [];
    const stderr = { write: (s: string) => lines.push(s) };
    const run = runDataConvert(['--in', input, '--out', out, '--buckets', '64:128:32', '--workers', '1', '--items-per-shard', '2'], {
      signal: ac.signal,
      stderr: { write: (s: string) => (s.includes('/') && !s.includes('converted') ? ac.abort('interrupted by Ctrl-C') : undefined, stderr.write(s)) },
    });
    await expect(run).rejects.toThrow(C.AbortError);
    const parts = readdirSync(out).filter((f) => /^part-.*\.json$/.test(f));
    expect(parts.length).toBeGreaterThan(0);
    expect(parts.length).toBeLessThan(7);
    // progress went out as plain lines (stderr is not a TTY), then a rerun finishes the rest
    expect(lines[0]).toMatch(/^\d+\/\d+ \(\d+ skipped\)\n$/);
    const out2: string[] = [];
    const r = await runDataConvert(['--in', input, '--out', out, '--buckets', '64:128:32', '--workers', '1', '--items-per-shard', '2', '--json'], { stdout: { write: (s: string) => out2.push(s) } });
    expect(r!.report.items).toBe(9);
    const summary = JSON.parse(out2.join('')) as Record<string, unknown>;
    expect(summary).toMatchObject({ out, items: 9 });
    expect(summary).not.toHaveProperty('index');
  });
});

describe('DatasetReader', () => {
  test('single-bucket batches, seeded per-epoch shuffle, exact position restore', async () => {
    const out = tmp('reader');
    await convertDataset({ in: input, out, buckets: SMALL_BUCKETS, workers: 2, itemsPerShard: 2, precompute: { textEncoder: fakeText } });
    const r1 = await DatasetReader.open(out, { batchSize: 2, seed: 3, maxOpenShards: 2 });
    const per = r1.batchesPerEpoch;
    const seq: string[] = [];
    let saved = r1.getState();
    for (let i = 0; i < 2 * per + 3; i++) {
      if (i === per + 1) saved = r1.getState();
      const b = await r1.next();
      expect(new Set(b.items.map((it) => `${it.bucket}`)).size).toBe(1);
      expect(b.images!.shape).toEqual([b.items.length, 3, b.bucket[1] / 2, b.bucket[0] / 2]);
      expect(b.cond!.shape).toEqual([b.items.length, 5, 4]);
      seq.push(`${b.epoch}:${b.items.map((it) => it.id).join(',')}:${b.captions.join('|')}`);
      b.dispose();
    }
    // every item once per epoch
    const epoch0 = seq.slice(0, per).flatMap((s) => s.split(':')[1]!.split(','));
    expect(epoch0.length).toBe(r1.size);
    expect(new Set(epoch0).size).toBe(r1.size);
    // a different order in the next epoch
    expect(seq.slice(per, 2 * per)).not.toEqual(seq.slice(0, per).map((s) => s.replace(/^0:/, '1:')));
    // same seed: same sequence; restored state: same continuation
    const r2 = await DatasetReader.open(out, { batchSize: 2, seed: 3 });
    r2.setState(saved);
    for (let i = per + 1; i < seq.length; i++) {
      const b = await r2.next();
      expect(`${b.epoch}:${b.items.map((it) => it.id).join(',')}:${b.captions.join('|')}`).toBe(seq[i]);
      b.dispose();
    }
    await r1.close();
    await r2.close();
    expect(C.memory().numTensors).toBeLessThan(50);
  });
});
