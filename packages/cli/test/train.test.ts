import * as C from '@sdxs/core';
import { cpSync, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, expect, test } from 'vitest';
import { makeRunFixture, poisonLatents, writeConfig } from '../../train/test/helpers/run-fixture.js';
import { runCli } from './helpers.js';

let root: string;
let config: string;

beforeAll(async () => {
  await C.setBackend('cpu'); // the dataset's latents; each sdxs train below picks its own backend
  root = await makeRunFixture('sdxs-cli-train-');
  // no "backend": SDXS_BACKEND decides
  config = writeConfig(root, 'train.json', { steps: 1, batchSize: 2, seed: 1, lr: { baseLr: 1e-3, warmupSteps: 0 } });
}, 120_000);

test('sdxs train --lora --lora-rank -o --json: SDXS_BACKEND picks the backend, one JSON summary on stdout, the LoRA file in final/', async () => {
  const out = path.join(root, 'json-run');
  const r = await runCli(['train', '--config', config, '--lora', '--lora-rank', '2', '-o', out, '--json'], { SDXS_BACKEND: 'cpu' });
  expect(r.code, r.stderr).toBe(0);
  const lines = r.stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  const s = JSON.parse(lines[0]!) as { steps: number; backend: string; loraRank: number; final: string; files: string[]; loss: number };
  expect(s).toMatchObject({ steps: 1, backend: 'cpu', loraRank: 2, final: path.join(out, 'final') });
  expect(s.files).toEqual([path.join(out, 'final', 'pytorch_lora_weights.safetensors')]);
  expect(existsSync(s.files[0]!)).toBe(true);
  expect(Number.isFinite(s.loss)).toBe(true);
  expect(r.stderr).not.toContain('"steps"');
}, 120_000);

test('sdxs train without --json: nothing on stdout, the backend and a summary line on stderr', async () => {
  const r = await runCli(['train', '-c', config, '--lora', '--output', path.join(root, 'plain-run')], { SDXS_BACKEND: 'cpu' });
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(/sdxs train: backend cpu, LoRA rank 16/);
  expect(r.stderr).toMatch(/sdxs train: trained LoRA rank 16 to step 1\/1 on cpu, last loss \d/);
  // stderr is not a terminal here (a log file): one plain line per step, no carriage returns or escapes
  expect(r.stderr).not.toMatch(/[\r\x1b]/);
  expect(r.stderr).toMatch(/^step 1\/1 loss \d+\.\d{4} lr \S+ [\d.]+ it\/s$/m);
}, 120_000);

test('sdxs train: an unknown SDXS_BACKEND or a bad flag is a usage error (2), a bad lora config an input error (3)', async () => {
  const env = await runCli(['train', '-c', config, '--lora'], { SDXS_BACKEND: 'no-such-backend' });
  expect(env.code).toBe(2);
  expect(env.stderr).toMatch(/sdxs train: usage error: unknown backend 'no-such-backend' \(from SDXS_BACKEND\); choose one of: auto, .*\bcpu\b/);
  expect((await runCli(['train', '-c', config, '--lora-rank', 'big'], { SDXS_BACKEND: 'cpu' })).code).toBe(2);
  const bad = writeConfig(root, 'bad.json', { steps: 1, lora: { rank: 4, dropout: 2 } });
  const r = await runCli(['train', '-c', bad], { SDXS_BACKEND: 'cpu' });
  expect(r.code).toBe(3);
  expect(r.stderr).toMatch(/input error: .*bad\.json: 'lora\.dropout' must be a number in \[0, 1\), got 2/);
  // a backend named in the config file is the config's fault (3); --backend overrides it
  const named = writeConfig(root, 'named.json', { steps: 1, backend: 'no-such-backend' });
  const fromConfig = await runCli(['train', '-c', named, '--lora']);
  expect(fromConfig.code).toBe(3);
  expect(fromConfig.stderr).toMatch(/unknown backend 'no-such-backend' \(from "backend" in .*named\.json\)/);
  expect((await runCli(['train', '-c', named, '--lora', '--backend', 'also-missing'])).code).toBe(2);
});

test('sdxs train stops on Ctrl-C with a checkpoint and exits 130', async () => {
  const ac = new AbortController();
  ac.abort('interrupted by Ctrl-C');
  const out = path.join(root, 'stopped-run');
  const r = await runCli(['train', '-c', config, '--lora', '-o', out], { SDXS_BACKEND: 'cpu' }, ac.signal);
  expect(r.code).toBe(130);
  expect(existsSync(path.join(out, 'checkpoints', 'step-000000', 'trainer_state.json'))).toBe(true);
}, 120_000);

test('sdxs train: bad config values and unusable dataset/output paths exit 3 with one line; a loss that turns NaN exits 1 naming the step', async () => {
  writeFileSync(path.join(root, 'not-a-folder'), 'x');
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ steps: 1, gradAccumulation: 0 }, /'gradAccumulation' must be an integer from 1/],
    [{ steps: 1, lr: { baseLr: 'NaN' } }, /'lr\.baseLr' must be a number in \(0, 1\], got "NaN"/],
    [{ steps: 1, optimizer: 'sgd2' }, /'optimizer' must be one of 'adamw', 'adamw8bit', got "sgd2"/],
    [{ steps: 1, typo: { a: [1] } }, /unknown key 'typo'/],
    [{ steps: 1, dataset: './no-such-folder' }, /no-such-folder: no such dataset folder/],
    [{ steps: 1, dataset: './not-a-folder' }, /not-a-folder: is a file, not a dataset folder/],
    [{ steps: 1, output: './not-a-folder' }, /not-a-folder: the run folder is an existing file/],
  ];
  for (const [i, [keys, msg]] of cases.entries()) {
    const r = await runCli(['train', '-c', writeConfig(root, `bad-${i}.json`, keys)], { SDXS_BACKEND: 'cpu' });
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(msg);
    expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
  }
  // a dataset whose latents are NaN: the first step's loss is NaN
  const nanRoot = path.join(root, 'nan');
  cpSync(path.join(root, 'dataset'), path.join(nanRoot, 'dataset'), { recursive: true });
  cpSync(path.join(root, 'model'), path.join(nanRoot, 'model'), { recursive: true, verbatimSymlinks: true });
  poisonLatents(path.join(nanRoot, 'dataset'));
  const r = await runCli(['train', '-c', writeConfig(nanRoot, 'train.json', { steps: 2, batchSize: 2, lora: { rank: 2 } })], { SDXS_BACKEND: 'cpu' });
  expect(r.code, r.stderr).toBe(1);
  expect(r.stderr).toMatch(/sdxs train: error: step 1: the loss is NaN; the run stopped and no checkpoint was written/);
  expect(existsSync(path.join(nanRoot, 'run', 'final'))).toBe(false);
  expect(existsSync(path.join(nanRoot, 'run', 'checkpoints'))).toBe(false);
}, 120_000);
