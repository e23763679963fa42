import * as C from '@sdxs/core';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { AdamW } from '../src/optim/adamw.js';
import { runTrain } from '../src/run-train.js';
import { makeRunFixture, poisonLatents, writeConfig } from './helpers/run-fixture.js';

let root: string;
const quiet = { stderr: { write: () => true }, stdout: { write: () => true } };

beforeAll(async () => {
  await C.setBackend('cpu');
  root = await makeRunFixture('sdxs-run-hostile-');
}, 120_000);

async function failure(config: string, argv: string[] = []): Promise<Error> {
  const e = await runTrain(['--config', config, ...argv], quiet).then(() => null, (x: unknown) => x as Error);
  expect(e, 'the run succeeded').toBeInstanceOf(C.SdxsError);
  expect(e!.message).not.toContain('\n');
  return e!;
}

describe('runTrain refuses bad runs before any work, and stops a diverging one', () => {
  test('an unknown key holding a deeply nested value is a ConfigError naming it before any work (no run folder)', async () => {
    const file = path.join(root, 'deep.json');
    // written by hand: JSON.stringify itself overflows on such a value
    writeFileSync(file, `{"model": "./model", "dataset": "./dataset", "output": "./deep-run", "steps": 2, "notes": ${'['.repeat(50_000)}0${']'.repeat(50_000)}}`);
    const e = await failure(file);
    expect(e).toBeInstanceOf(C.ConfigError);
    expect(e.message).toMatch(/unknown key 'notes'/);
    expect(existsSync(path.join(root, 'deep-run'))).toBe(false);
  });

  test('a missing dataset folder, a dataset path that is a file and an output that is a file are one-line InputErrors', async () => {
    writeFileSync(path.join(root, 'a-file'), 'x');
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ dataset: './no-such-dataset' }, /no-such-dataset: no such dataset folder \("dataset" in .*\.json\)/],
      [{ dataset: './a-file' }, /a-file: is a file, not a dataset folder/],
      [{ output: './a-file' }, /a-file: the run folder is an existing file/],
      [{ output: './a-file/run' }, /run: the run folder cannot be created: .*a-file is a file/],
    ];
    for (const [i, [keys, msg]] of cases.entries()) {
      const e = await failure(writeConfig(root, `paths-${i}.json`, { steps: 1, ...keys }));
      expect(e).toBeInstanceOf(C.InputError);
      expect(e.message).toMatch(msg);
    }
    // a folder that is not a converted dataset: the index reader's error is typed too
    mkdirSync(path.join(root, 'empty-dataset'), { recursive: true });
    const e = await failure(writeConfig(root, 'paths-empty.json', { steps: 1, dataset: './empty-dataset', output: './empty-run' }));
    expect(e).toBeInstanceOf(C.InputError);
    expect(e.message).toMatch(/index\.json not found/);
  });

  test('gradAccumulation 0 is a ConfigError, not "grads is not iterable"', async () => {
    const e = await failure(writeConfig(root, 'accum.json', { steps: 1, gradAccumulation: 0 }));
    expect(e).toBeInstanceOf(C.ConfigError);
    expect(e.message).toMatch(/'gradAccumulation' must be an integer from 1/);
  });

  test('a loss that becomes non-finite stops the run with a NonFiniteError naming the step; the last good checkpoint is kept byte for byte', async () => {
    const dir = path.join(root, 'diverge');
    cpSync(path.join(root, 'dataset'), path.join(dir, 'dataset'), { recursive: true });
    cpSync(path.join(root, 'model'), path.join(dir, 'model'), { recursive: true, verbatimSymlinks: true });
    const config = writeConfig(dir, 'train.json', { steps: 3, batchSize: 2, checkpointEvery: 1, keepCheckpoints: 1, lora: { rank: 2 } });
    const first = await runTrain(['--config', config, '--steps', '1'], quiet);
    expect(first!.steps).toBe(1);
    const ckpts = path.join(dir, 'run', 'checkpoints');
    expect(readdirSync(ckpts)).toEqual(['step-000001']);
    // every file of the run folder (the checkpoint and the 1-step final/), by content
    const run = path.join(dir, 'run');
    const snapshot = (): Map<string, Buffer> =>
      new Map(
        (readdirSync(run, { recursive: true }) as string[])
          .filter((f) => statSync(path.join(run, f)).isFile() && !/^log\.jsonl$|^loss\.svg$/.test(f))
          .sort()
          .map((f) => [f, readFileSync(path.join(run, f))]),
      );
    const before = snapshot();
    poisonLatents(path.join(dir, 'dataset'));
    const e = await failure(config);
    expect(e).toBeInstanceOf(C.NonFiniteError);
    expect(e.message).toMatch(/^step 2: the loss is NaN; the run stopped and the last good checkpoint, .*step-000001, is kept/);
    expect(readdirSync(ckpts)).toEqual(['step-000001']);
    expect([...before.keys()].some((f) => f.startsWith('checkpoints/step-000001/'))).toBe(true);
    expect(snapshot()).toEqual(before);
  }, 120_000);

  test('ema given as { "decay": 0.9 } trains finite EMA weights', async () => {
    const config = writeConfig(root, 'ema.json', { steps: 2, batchSize: 2, output: './ema-run', ema: { decay: 0.9 }, lora: { rank: 2 } });
    const r = await runTrain(['--config', config], quiet);
    const emaFile = path.join(r!.final!, 'ema', 'pytorch_lora_weights.safetensors');
    expect(r!.files).toContain(emaFile);
    const f = await C.loadSafetensors(emaFile);
    try {
      expect(f.names().length).toBeGreaterThan(0);
      for (const n of f.names()) expect((await f.readTyped(n) as Float32Array).every(Number.isFinite), n).toBe(true);
    } finally {
      await f.close();
    }
  }, 120_000);

  test('an optimizer update that would make a weight non-finite is a NonFiniteError naming the parameter, and the weight stays as it was', async () => {
    const p = new C.Parameter([3]);
    p.set(C.fromData(Float32Array.of(0.5, -0.25, 1), [3], 'float32'));
    const opt = new AdamW([['w', p]]);
    const e = await opt.step([Float32Array.of(1, 1, 1)], Infinity).then(() => null, (x: unknown) => x as Error);
    expect(e).toBeInstanceOf(C.NonFiniteError);
    expect(e!.message).toMatch(/step 1: the update made 'w' non-finite/);
    expect([...((await p.value.data()) as Float32Array)]).toEqual([0.5, -0.25, 1]);
  });
});
