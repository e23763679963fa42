import { execFileSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, test } from 'vitest';
import * as C from '@sdxs/core';
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

  let ffmpeg = true;
  try {
    findFfmpeg();
  } catch {
    ffmpeg = false;
  }
  test.skipIf(!ffmpeg)('a video', async () => {
    const dir = await tempDir('sdxs-cli-upscale-video-');
    execFileSync(findFfmpeg().ffmpeg, ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=24x16:rate=8', '-t', '0.25', '-pix_fmt', 'yuv420p', path.join(dir, 'v.mp4')]);
    const r = await run(['v.mp4', '--model', model, '--backend', 'cpu', '-q'], dir);
    expect(r.code).toBe(0);
    expect(existsSync(path.join(dir, 'v-2x.mp4'))).toBe(true);
  });
});
