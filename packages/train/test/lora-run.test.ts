import * as C from '@sdxs/core';
import { UNet2DConditionModel } from '@sdxs/unet';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { LORA_KOHYA_FILE, LORA_PEFT_FILE } from '../src/lora-adapters.js';
import { runTrain } from '../src/run-train.js';
import { makeRunFixture, writeConfig } from './helpers/run-fixture.js';
import { UNET_TINY } from './helpers/synthetic.js';

beforeAll(async () => {
  await C.setBackend('cpu');
});

const LORA = { rank: 4, alpha: 8, dropout: 0.25, format: 'both', baseDtype: 'half' };
const RUN = { backend: 'cpu', seed: 5, batchSize: 2, optimizer: 'adamw8bit', lr: { baseLr: 5e-3, warmupSteps: 1 }, gradientCheckpointing: true, ema: 0.9, checkpointEvery: 2, plotEvery: 100, lora: LORA };

async function fileValues(file: string): Promise<Map<string, Float32Array>> {
  const f = await C.loadSafetensors(file);
  try {
    const m = new Map<string, Float32Array>();
    for (const n of f.names()) m.set(n, (await f.readTyped(n)) as Float32Array);
    return m;
  } finally {
    await f.close();
  }
}

const losses = (run: string): number[] => readFileSync(path.join(run, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { loss: number }).loss);

async function outputOf(unet: UNet2DConditionModel): Promise<Float32Array> {
  const x = C.randomNormal([1, 32, 4, 4], { seed: 8 });
  const e = C.randomNormal([1, 6, 24], { seed: 9 });
  const y = unet.forward(x, 300, e);
  const out = ((await y.data()) as Float32Array).slice();
  C.dispose([x, e, y]);
  return out;
}

describe('runTrain with lora (sdxs train --lora)', () => {
  test('4 steps straight = 2 steps, stop, resume, 2 more: same losses, adapter and EMA bits; the PEFT and kohya files load back to the same model', async () => {
    const root = await makeRunFixture('sdxs-lora-run-');
    const config = writeConfig(root, 'lora.json', { ...RUN, steps: 4 });
    const straight = path.join(root, 'straight');
    const split = path.join(root, 'split');
    const a = await runTrain(['--config', config, '-o', straight, '--json'], { stdout: { write: () => true }, stderr: { write: () => true } });
    expect(a).toMatchObject({ steps: 4, loraRank: 4, backend: 'cpu', interrupted: false, final: path.join(straight, 'final') });
    const b1 = await runTrain(['--config', config, '-o', split, '--steps', '2'], { stderr: { write: () => true } });
    expect(b1!.steps).toBe(2);
    const b2 = await runTrain(['--config', config, '-o', split], { stderr: { write: () => true } });
    expect(b2!.steps).toBe(4);

    expect(losses(split)).toEqual(losses(straight));
    expect(readdirSync(path.join(straight, 'checkpoints', 'step-000004')).sort()).toEqual(['lora', 'lora_ema', 'optimizer.safetensors', 'trainer_state.json']);
    for (const f of [LORA_PEFT_FILE, LORA_KOHYA_FILE, `ema/${LORA_PEFT_FILE}`, `ema/${LORA_KOHYA_FILE}`]) {
      const x = await fileValues(path.join(straight, 'final', f));
      const y = await fileValues(path.join(split, 'final', f));
      expect([...x.keys()].sort(), f).toEqual([...y.keys()].sort());
      for (const [k, v] of x) expect(v.every((val, i) => Object.is(val, y.get(k)![i])), `${f} ${k}`).toBe(true);
    }
    const peft = await fileValues(path.join(straight, 'final', LORA_PEFT_FILE));
    expect([...peft.keys()].every((k) => /^unet\..+\.transformer_blocks\.\d+\.(attn[12]\.to_(q|k|v|out\.0)|ff\.net\.(0\.proj|2))\.lora_[AB]\.weight$/.test(k))).toBe(true);
    const ema = await fileValues(path.join(straight, 'final', 'ema', LORA_PEFT_FILE));
    const someB = [...peft.keys()].find((k) => k.endsWith('lora_B.weight'))!;
    expect(peft.get(someB)!.some((v) => v !== 0)).toBe(true); // trained
    expect(ema.get(someB)!.some((v, i) => v !== peft.get(someB)![i])).toBe(true); // EMA is its own

    // Both files through our loaders, on the base as training kept it (16-bit): the same model, not the base.
    const base = await UNet2DConditionModel.fromPretrained(UNET_TINY, { dtype: 'half' });
    const baseOut = await outputOf(base);
    await base.loadLoraWeights(path.join(straight, 'final'));
    const fromPeft = await outputOf(base);
    base.unloadLoraWeights();
    await base.loadLoraWeights(path.join(straight, 'final', LORA_KOHYA_FILE));
    const fromKohya = await outputOf(base);
    base.dispose();
    expect(fromKohya).toEqual(fromPeft);
    expect(Math.max(...fromPeft.map((v, i) => Math.abs(v - baseOut[i]!)))).toBeGreaterThan(1e-4);
  }, 240_000);

  test('Ctrl-C (the signal) stops with a checkpoint and interrupted: true; a run without --json prints a summary line on stderr only', async () => {
    const root = await makeRunFixture('sdxs-lora-stop-');
    const config = writeConfig(root, 'lora.json', { ...RUN, ema: null, steps: 3, lora: { rank: 2 } });
    const ac = new AbortController();
    ac.abort('interrupted by Ctrl-C');
    let out = '';
    let err = '';
    const r = await runTrain(['--config', config], { signal: ac.signal, stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } });
    expect(r).toMatchObject({ steps: 0, interrupted: true, final: null });
    expect(out).toBe('');
    expect(err).toMatch(/sdxs train: stopped LoRA rank 2 to step 0\/3 on cpu/);
    expect(existsSync(path.join(root, 'run', 'checkpoints', 'step-000000', 'lora', LORA_PEFT_FILE))).toBe(true);
  }, 120_000);
});
