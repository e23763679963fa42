import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { diffusersCase, fixturesDir } from '@sdxs/core/testing';
import { runCli, tempDir } from './helpers.js';

let work: string;
beforeAll(async () => {
  work = await tempDir('sdxs-cli-eval-');
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('sdxs eval vae', () => {
  test('prints the seed-shaped line, says why LPIPS is absent, writes CSV, JSON and the SVG chart', async () => {
    const images = path.resolve(fixturesDir(), '../images');
    const r = await runCli(['eval', 'vae', '--images', images, '--model', diffusersCase('vae-tiny'), '--out', work, '-q'], { SDXS_BACKEND: 'cpu' });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^MSE=\S+ PSNR=\d+\.\d\d LPIPS=n\/a Edge=\S+ KL=\S+\n$/);
    expect(r.stderr).toMatch(/LPIPS: n\/a \(not available: sdxs has no LPIPS network/);
    expect(r.stderr).not.toMatch(/given/);
    const csv = (await readFile(path.join(work, 'vae-eval.csv'), 'utf8')).trim().split('\n');
    expect(csv).toHaveLength(4);
    const json = JSON.parse(await readFile(path.join(work, 'vae-eval.json'), 'utf8')) as { mode: string; images: { name: string; width: number }[] };
    expect(json.mode).toBe('reconstruct');
    expect(json.images[0]).toMatchObject({ name: 'camera.png', width: 512 });
    expect(await readFile(path.join(work, 'vae-eval-psnr.svg'), 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>\n$/);
  }, 180_000);

  test('usage errors', async () => {
    expect((await runCli(['eval', 'vae'])).stderr).toMatch(/--images <folder> is required/);
    expect((await runCli(['eval', 'unet', '--images', 'x'])).stderr).toMatch(/unknown report 'unet'/);
    expect((await runCli(['eval', 'vae', '--images', 'x', '--mode', 'fast'])).stderr).toMatch(/--mode must be reconstruct or upscale/);
  });
});
