import * as C from '@sdxs/core';
import { convertDataset } from '@sdxs/data';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { tmpdir } from 'node:os';
import { mkdtempSync } from 'node:fs';
import sharp from 'sharp';
import { beforeAll, describe, expect, test } from 'vitest';
import { runTrain } from '../src/run-train.js';
import { FIXTURES } from './helpers/synthetic.js';

beforeAll(async () => {
  await C.setBackend('cpu');
});

/** A fake text encoder with the tiny UNet's cross-attention width (24) and 6 tokens. */
const fakeText = {
  encode(prompts: string[]) {
    const p = prompts[0] ?? '';
    const s = new Float32Array(6 * 24).map((_, i) => Math.sin((p.charCodeAt(i % Math.max(1, p.length)) || 1) * (i + 1)));
    const m = new Float32Array(6).map((_, i) => (i === 0 || i <= p.length ? 1 : 0));
    return { states: C.fromData(s, [1, 6, 24], 'float32'), mask: C.fromData(m, [1, 6], 'float32') };
  },
};

describe('runTrain (bun script / sdxs train)', () => {
  test('trains from a config, logs, plots, samples, checkpoints and resumes', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'sdxs-run-'));
    const model = path.join(root, 'model');
    mkdirSync(model);
    symlinkSync(path.join(FIXTURES, 'diffusers', 'unet-tiny'), path.join(model, 'unet'));
    symlinkSync(path.join(FIXTURES, 'diffusers', 'vae-tiny'), path.join(model, 'vae'));
    mkdirSync(path.join(model, 'scheduler'));
    writeFileSync(path.join(model, 'scheduler', 'scheduler_config.json'), JSON.stringify({ _class_name: 'FlowMatchEulerDiscreteScheduler', num_train_timesteps: 1000, shift: 5.0 }));
    const images = path.join(root, 'images');
    mkdirSync(images);
    for (let i = 0; i < 4; i++) {
      const raw = Buffer.alloc(64 * 64 * 3).map((_, k) => (k * (i + 3)) % 251);
      await sharp(raw, { raw: { width: 64, height: 64, channels: 3 } }).png().toFile(path.join(images, `img${i}.png`));
      writeFileSync(path.join(images, `img${i}.txt`), `picture number ${i}`);
    }
    const { AsymmetricAutoencoderKL } = await import('@sdxs/vae');
    const vae = await AsymmetricAutoencoderKL.fromPretrained(path.join(FIXTURES, 'diffusers', 'vae-tiny'));
    await convertDataset({ in: images, out: path.join(root, 'dataset'), buckets: { min: 64, max: 128, step: 32 }, workers: 1, precompute: { vae, textEncoder: fakeText } });
    vae.dispose();
    const config = path.join(root, 'train.json');
    writeFileSync(
      config,
      JSON.stringify({
        model: './model',
        dataset: './dataset',
        output: './run',
        backend: 'cpu',
        batchSize: 2,
        steps: 4,
        optimizer: 'adamw8bit',
        lr: { baseLr: 1e-3, warmupSteps: 1, stageMultipliers: [0.5, 1, 3, 5] },
        gradientCheckpointing: true,
        checkpointEvery: 2,
        plotEvery: 2,
        sampleEvery: 2,
        sampleSteps: 2,
      }),
    );
    const r = await runTrain(['--config', config]);
    expect(r!.steps).toBe(4);
    const run = path.join(root, 'run');
    const log = readFileSync(path.join(run, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; loss: number; lr: number; rssMiB: number; samplesPerSec: number });
    expect(log.map((l) => l.step)).toEqual([1, 2, 3, 4]);
    expect(log.every((l) => Number.isFinite(l.loss) && l.lr > 0 && l.rssMiB > 0 && l.samplesPerSec > 0)).toBe(true);
    // stage multipliers 0.5, 1, 3, 5 over 4 steps
    expect(log[2]!.lr / log[1]!.lr).toBeGreaterThan(2);
    expect(readFileSync(path.join(run, 'loss.svg'), 'utf8')).toMatch(/^<svg[\s\S]*<path/);
    expect(readdirSync(path.join(run, 'samples')).sort()).toEqual(['step-000002-0.png', 'step-000002-1.png', 'step-000004-0.png', 'step-000004-1.png']);
    expect(readdirSync(path.join(run, 'checkpoints')).sort()).toEqual(['step-000002', 'step-000004']);
    expect(existsSync(path.join(run, 'final', 'unet', 'diffusion_pytorch_model.safetensors'))).toBe(true);

    // Continue to 6 steps: resumes from step-000004 and appends.
    const r2 = await runTrain(['--config', config, '--steps', '6']);
    expect(r2!.steps).toBe(6);
    const log2 = readFileSync(path.join(run, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; loss: number });
    expect(log2.map((l) => l.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(log2.slice(0, 4)).toEqual(log.map((l) => expect.objectContaining({ step: l.step, loss: l.loss })));
  });
});

describe('the Bun script', () => {
  const root = path.resolve(__dirname, '../../..');
  const bun = path.join(root, 'node_modules/.bin/bun');
  const built = existsSync(path.join(root, 'packages/train/dist/index.js')) && existsSync(bun);
  if (!built) console.warn('skipping the Bun script test: run `npm run build` first (Bun resolves the workspace packages to dist/)');
  test.skipIf(!built)('bun runs packages/train/scripts/train.ts (help, and a clear error without --config)', async () => {
    const { execFileSync, spawnSync } = await import('node:child_process');
    const help = execFileSync(bun, [path.join(root, 'packages/train/scripts/train.ts'), '--help'], { encoding: 'utf8' });
    expect(help).toContain('sdxs train --config');
    const bad = spawnSync(bun, [path.join(root, 'packages/train/scripts/train.ts')], { encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('--config is required');
  });
});
