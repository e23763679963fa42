import { execFileSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, test } from 'vitest';
import * as C from '@sdxs/core';
import { skipUnless } from '@sdxs/core/testing';
import { findFfmpeg } from '@sdxs/vae/node';
import { upscaleHelp } from '../src/commands/upscale.js';
import { runCli, tempDir, type RunResult } from './helpers.js';
import { jpegBomb } from '../../vae/test/helpers/hostile-images.js';

const shared = process.env.SDXS_FIXTURES ?? path.resolve(__dirname, '../../../../shared/fixtures');
const model = path.join(shared, 'diffusers/vae-tiny');
const chelsea = path.resolve(shared, '../images/chelsea.png');

const run = (argv: string[], cwd: string): Promise<RunResult> => runCli(['upscale', ...argv], {}, new AbortController().signal, cwd);

/** A failed run's message (it must exit non-zero). */
async function failsWith(r: Promise<RunResult>): Promise<string> {
  const { code, stderr } = await r;
  expect(code).not.toBe(0);
  return stderr;
}

describe('sdxs upscale', () => {
  test('--help documents every option', async () => {
    const r = await run(['--help'], process.cwd());
    expect(r.code).toBe(0);
    for (const o of ['--output', '--backend', '--tile', '--overlap', '--model', '--force', 'video', 'folder']) expect(upscaleHelp).toContain(o);
    expect(r.stdout).toContain('sdxs upscale <in>');
  });

  test('an image and a folder of images', async () => {
    const dir = await tempDir('sdxs-cli-upscale-');
    await sharp(chelsea).extract({ left: 0, top: 0, width: 30, height: 20 }).toFile(path.join(dir, 'a.png'));
    await sharp(chelsea).extract({ left: 40, top: 40, width: 17, height: 9 }).jpeg().toFile(path.join(dir, 'b.jpg'));
    const base = ['--model', model, '--backend', 'cpu', '-q'];
    expect((await run(['a.png', ...base], dir)).code).toBe(0);
    expect((await sharp(path.join(dir, 'a-2x.png')).metadata()).width).toBe(60);
    expect(await failsWith(run(['a.png', ...base], dir))).toMatch(/--force/);
    await fs.rm(path.join(dir, 'a-2x.png'));
    const folder = await run(['.', '-o', 'out', ...base, '--tile', '16', '--overlap', '8'], dir);
    expect(folder.code).toBe(0);
    expect((await fs.readdir(path.join(dir, 'out'))).sort()).toEqual(['a.png', 'b.jpg']);
    const b = await sharp(path.join(dir, 'out', 'b.jpg')).metadata();
    expect([b.width, b.height]).toEqual([34, 18]);
    const missing = await run(['nope.png', ...base], dir);
    expect(missing.code).toBe(3); // input error, like a corrupt image; 2 is for usage
    expect(missing.stderr).toBe("sdxs upscale: input error: 'nope.png' does not exist\n");
    await fs.writeFile(path.join(dir, 'corrupt.png'), 'not a png');
    expect((await run(['corrupt.png', ...base], dir)).code).toBe(3);
    await fs.rm(path.join(dir, 'corrupt.png'));
    expect(await failsWith(run(['a.png', '--tile', '12', ...base], dir))).toMatch(/multiple of 8/);
  });

  test('a decompression bomb is refused before decoding; SDXS_MAX_IMAGE_PIXELS raises the limit', async () => {
    const dir = await tempDir('sdxs-cli-bomb-');
    await fs.writeFile(path.join(dir, 'bomb.jpg'), await jpegBomb(16000, 16000));
    const base = ['--model', model, '--backend', 'cpu', '-q'];
    expect(await failsWith(run(['bomb.jpg', ...base], dir))).toMatch(/16000x16000.*SDXS_MAX_IMAGE_PIXELS/);
    await sharp(chelsea).extract({ left: 0, top: 0, width: 30, height: 20 }).toFile(path.join(dir, 'a.png'));
    const limited = await runCli(['upscale', 'a.png', ...base], { SDXS_MAX_IMAGE_PIXELS: '100' }, new AbortController().signal, dir);
    expect(limited.code).not.toBe(0);
    expect(limited.stderr).toMatch(/over the limit of 100/);
  });

  test('one line names the backend (none under --json or -q); --json prints a summary; help lists every backend', async () => {
    const dir = await tempDir('sdxs-cli-backend-line-');
    await sharp(chelsea).extract({ left: 0, top: 0, width: 16, height: 16 }).toFile(path.join(dir, 'a.png'));
    const plain = await runCli(['upscale', 'a.png', '--model', model], { SDXS_BACKEND: 'cpu' }, new AbortController().signal, dir);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stderr.match(/: backend /g)).toEqual([': backend ']);
    expect(plain.stderr).toMatch(/^sdxs upscale: backend cpu\n/);
    const json = await runCli(['upscale', 'a.png', '-o', 'b.png', '--model', model, '--json'], { SDXS_BACKEND: 'cpu' }, new AbortController().signal, dir);
    expect(json.code, json.stderr).toBe(0);
    expect(json.stderr).toBe('');
    expect(JSON.parse(json.stdout)).toMatchObject({ backend: 'cpu', outputs: [{ width: 32, height: 32 }], failures: [] });
    for (const b of C.listBackends()) expect(upscaleHelp).toContain(b);
  });

  let noFfmpeg = '';
  try {
    findFfmpeg();
  } catch (e) {
    noFfmpeg = (e as Error).message;
  }
  // .ci/run installs ffmpeg
  const skipFfmpeg = skipUnless(noFfmpeg === '', `upscale of GIFs and videos: ${noFfmpeg}`, { ciRequired: true });

  const absent = '/nonexistent/sdxs-model'; // the model never loads: what fails must fail before it
  test('an output that does not suit the input is a usage error before the model loads (video in, image out; image in, video out)', async () => {
    const dir = await tempDir('sdxs-cli-upscale-kinds-');
    await fs.writeFile(path.join(dir, 'v.mp4'), 'not decoded: the check comes first');
    await sharp(chelsea).extract({ left: 0, top: 0, width: 16, height: 16 }).toFile(path.join(dir, 'a.png'));
    for (const [input, out, re] of [
      ['v.mp4', 'out.png', /'v\.mp4' is a video, so the output must be one too/],
      ['v.mp4', 'out.webp', /is a video/],
      ['a.png', 'out.mp4', /'a\.png' is an image, not a video/],
      ['a.png', 'out.bmp', /'\.bmp' is not an image format/],
    ] as const) {
      const r = await run([input, '-o', out, '--model', absent, '--backend', 'cpu', '-q'], dir);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(re);
      expect(existsSync(path.join(dir, out))).toBe(false);
    }
  });

  test('a device or FIFO given as the image or video is an input error at once, before the model loads', async () => {
    const dir = await tempDir('sdxs-cli-upscale-devices-');
    await fs.symlink('/dev/zero', path.join(dir, 'zero.png'));
    await fs.symlink('/dev/urandom', path.join(dir, 'random.mp4'));
    execFileSync('mkfifo', [path.join(dir, 'fifo.webp')]);
    for (const [input, re] of [
      ['zero.png', /'zero\.png' is a character device \(through a symlink\), not a regular file/],
      ['random.mp4', /character device/],
      ['fifo.webp', /is a FIFO/],
    ] as const) {
      const r = await run([input, '--model', absent, '--backend', 'cpu', '-q'], dir);
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr).toMatch(re);
    }
  });

  test('an upscaled size the output format cannot hold (1x10000 to WebP) is a usage error before computing', async () => {
    const dir = await tempDir('sdxs-cli-upscale-limits-');
    await sharp({ create: { width: 1, height: 10000, channels: 3, background: '#808080' } }).png().toFile(path.join(dir, 'tall.png'));
    const r = await run(['tall.png', '-o', 'tall.webp', '--model', absent, '--backend', 'cpu', '-q'], dir);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/a 2x20000 image is over the WEBP limit of 16383 pixels a side; write \.png/);
  });

  test('a full disk or a read-only output folder is a runtime error (exit 1) that says so, not an input error', async () => {
    const dir = await tempDir('sdxs-cli-upscale-disk-');
    const noise = new Uint8Array(64 * 64 * 3).map(() => Math.floor(Math.random() * 256));
    await sharp(noise, { raw: { width: 64, height: 64, channels: 3 } }).png().toFile(path.join(dir, 'noise.png'));
    const full = path.join(dir, 'full');
    const ro = path.join(dir, 'ro');
    await fs.mkdir(full);
    await fs.mkdir(ro);
    const mount = (at: string, opts: string): boolean => execFileSync('sh', ['-c', `mount -t tmpfs -o ${opts} tmpfs '${at}' 2>/dev/null && echo ok || true`], { encoding: 'utf8' }).trim() === 'ok';
    if (!mount(full, 'size=8k') || !mount(ro, 'size=8k,ro')) return console.warn('skipped: cannot mount a small tmpfs (needs root)');
    try {
      const r = await run(['noise.png', '-o', path.join(full, 'out.png'), '--model', model, '--backend', 'cpu', '-q'], dir);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/^sdxs upscale: error: .*out\.png: cannot write the image: the disk is full/);
      expect(await fs.readdir(full)).toEqual([]);
      const r2 = await run(['noise.png', '-o', path.join(ro, 'out.png'), '--model', model, '--backend', 'cpu', '-q'], dir);
      expect(r2.code, r2.stderr).toBe(1);
      expect(r2.stderr).toMatch(/read-only file system/);
      // a folder whose outputs cannot be written fails with 1 too
      const r3 = await run(['.', '-o', ro, '--model', model, '--backend', 'cpu', '-q', '--force'], dir);
      expect(r3.code, r3.stderr).toBe(1);
    } finally {
      execFileSync('sh', ['-c', `umount '${full}' '${ro}' 2>/dev/null || true`]);
    }
  });

  test('an animated WebP is upscaled frame by frame into an animated WebP', async () => {
    const dir = await tempDir('sdxs-cli-upscale-anim-');
    const frames = [0, 1, 2].map((k) => new Uint8Array(12 * 8 * 3).map((_, i) => (i * 11 + k * 90) & 255));
    const stacked = new Uint8Array(frames.length * frames[0]!.length);
    frames.forEach((f, i) => stacked.set(f, i * f.length));
    await sharp(stacked, { raw: { width: 12, height: 24, channels: 3, pageHeight: 8 } }).webp({ delay: [100, 50, 200], loop: 0, lossless: true }).toFile(path.join(dir, 'a.webp'));
    const r = await run(['a.webp', '--model', model, '--backend', 'cpu', '--json'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ outputs: [{ width: 24, height: 16, frames: 3 }] });
    const meta = await sharp(path.join(dir, 'a-2x.webp')).metadata();
    expect([meta.pages, meta.delay]).toEqual([3, [100, 50, 200]]);
  });

  test.skipIf(skipFfmpeg)('an animated GIF keeps every frame and its delay', async () => {
    const dir = await tempDir('sdxs-cli-upscale-gif-');
    const frames = [0, 1, 2].map((k) => new Uint8Array(12 * 8 * 3).map((_, i) => (i * 11 + k * 90) & 255));
    const stacked = new Uint8Array(frames.length * frames[0]!.length);
    frames.forEach((f, i) => stacked.set(f, i * f.length));
    await sharp(stacked, { raw: { width: 12, height: 24, channels: 3, pageHeight: 8 } }).gif({ delay: [100, 500, 200], loop: 0 }).toFile(path.join(dir, 'a.gif'));
    const r = await run(['a.gif', '--model', model, '--backend', 'cpu', '-q'], dir);
    expect(r.code, r.stderr).toBe(0);
    const pts = execFileSync(findFfmpeg().ffprobe, ['-v', 'error', '-show_entries', 'frame=best_effort_timestamp_time', '-of', 'csv=p=0', path.join(dir, 'a-2x.gif')], { encoding: 'utf8' })
      .split('\n')
      .map((l) => l.split(',')[0]!.trim())
      .filter(Boolean)
      .map(Number);
    expect(pts).toEqual([0, 0.1, 0.6]);
  });
  test.skipIf(skipFfmpeg)('a video', async () => {
    const dir = await tempDir('sdxs-cli-upscale-video-');
    execFileSync(findFfmpeg().ffmpeg, ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=24x16:rate=8', '-t', '0.25', '-pix_fmt', 'yuv420p', path.join(dir, 'v.mp4')]);
    const r = await run(['v.mp4', '--model', model, '--backend', 'cpu', '-q'], dir);
    expect(r.code).toBe(0);
    expect(existsSync(path.join(dir, 'v-2x.mp4'))).toBe(true);
  });
});
