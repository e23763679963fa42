import * as C from '@sdxs/core';
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { skipUnless } from '@sdxs/core/testing';
import { runTrain } from '../src/run-train.js';
import { makeRunFixture, writeConfig } from './helpers/run-fixture.js';

beforeAll(async () => {
  await C.setBackend('cpu');
});

describe('runTrain (bun script / sdxs train)', () => {
  test('trains from a config, logs, plots, samples, checkpoints and resumes', async () => {
    const root = await makeRunFixture('sdxs-run-');
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
  // CI builds before it tests (npm test) and installs bun (a devDependency)
  const noBun = skipUnless(existsSync(bun), `the Bun script tests: no ${bun} (npm ci installs bun, a devDependency)`, { ciRequired: true });
  const notBuilt = skipUnless(existsSync(path.join(root, 'packages/train/dist/index.js')), 'the Bun script test: run `npm run build` first (Bun resolves the workspace packages to dist/)', { ciRequired: true });
  test.skipIf(noBun || notBuilt)('bun runs packages/train/scripts/train.ts (help, and a clear error without --config)', async () => {
    const { execFileSync, spawnSync } = await import('node:child_process');
    const help = execFileSync(bun, [path.join(root, 'packages/train/scripts/train.ts'), '--help'], { encoding: 'utf8' });
    expect(help).toContain('sdxs train --config');
    const bad = spawnSync(bun, [path.join(root, 'packages/train/scripts/train.ts')], { encoding: 'utf8' });
    expect(bad.status).toBe(2); // a usage error, as the CLI exits
    expect(bad.stderr).toContain('--config is required');
  });

  test.skipIf(noBun)('bun runs a LoRA config through the script (sources via the sdxs-source condition): JSON summary, the adapter files', async () => {
    const { spawnSync } = await import('node:child_process');
    const dir = await makeRunFixture('sdxs-bun-lora-');
    const config = writeConfig(dir, 'lora.json', { backend: 'cpu', steps: 2, batchSize: 2, lora: { rank: 2, format: 'both' } });
    const r = spawnSync(bun, ['--conditions=sdxs-source', path.join(root, 'packages/train/scripts/train.ts'), '--config', config, '--json'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as { steps: number; loraRank: number; files: string[] };
    expect(s).toMatchObject({ steps: 2, loraRank: 2 });
    expect(s.files.map((f) => path.basename(f))).toEqual(['pytorch_lora_weights.safetensors', 'lora_kohya.safetensors']);
    expect(s.files.every((f) => existsSync(f))).toBe(true);
  }, 120_000);
});
