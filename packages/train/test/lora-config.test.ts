import * as C from '@sdxs/core';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { validateTrainConfig } from '../src/config.js';
import { DEFAULT_LORA_RANK } from '../src/lora-config.js';
import { parseTrainArgs } from '../src/train-args.js';

const BASE = { model: './m', dataset: './d', output: './o', steps: 10 };

describe('lora in the training config', () => {
  test('valid settings pass; each bad one is a ConfigError naming the key', () => {
    expect(validateTrainConfig({ ...BASE, lora: { rank: 16, alpha: 8, dropout: 0.1, targets: ['attn1.to_q'], format: 'both', baseDtype: 'half' } }).lora!.rank).toBe(16);
    const bad: [unknown, RegExp][] = [
      [{}, /'lora\.rank' must be an integer from 1 to 1024, got undefined/],
      [{ rank: 0 }, /'lora\.rank'/],
      [{ rank: 2.5 }, /'lora\.rank'/],
      [{ rank: 4096 }, /from 1 to 1024, got 4096/],
      [{ rank: 4, alpha: -1 }, /'lora\.alpha' must be a number in \(0, 1000000\], got -1/],
      [{ rank: 4, dropout: 1 }, /'lora\.dropout' must be a number in \[0, 1\), got 1/],
      [{ rank: 4, dropout: -0.1 }, /'lora\.dropout'/],
      [{ rank: 4, targets: [] }, /'lora\.targets' must be a non-empty list/],
      [{ rank: 4, targets: ['attn1.to_q', ''] }, /'lora\.targets'/],
      [{ rank: 4, format: 'diffusers' }, /'lora\.format' must be one of 'peft', 'kohya', 'both', got "diffusers"/],
      [{ rank: 4, baseDtype: 'float16' }, /'lora\.baseDtype'/],
      [{ rank: 4, ranks: 8 }, /unknown key 'lora\.ranks' in 'lora'/],
      [16, /'lora' must be an object/],
      [{ rank: 4, ['k'.repeat(100_000)]: 1 }, /unknown key 'lora\.k+… \(100005 characters\)'/],
    ];
    for (const [lora, msg] of bad) {
      let err: unknown;
      try {
        validateTrainConfig({ ...BASE, lora } as never, 'x.json');
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(lora)).toBeInstanceOf(C.ConfigError);
      expect((err as Error).message, JSON.stringify(lora)).toMatch(msg);
      expect((err as Error).message).toMatch(/^x\.json: /);
      expect((err as Error).message.length).toBeLessThan(400);
    }
  });

  test('--lora turns it on with the defaults, --lora-rank sets the rank, -o the output; bad flags are ArgumentErrors', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sdxs-train-args-'));
    const file = path.join(dir, 'train.json');
    writeFileSync(file, JSON.stringify(BASE));
    expect(parseTrainArgs(['-c', file])!.cfg.lora).toBeUndefined();
    expect(parseTrainArgs(['-c', file, '--lora'])!.cfg.lora).toEqual({ rank: DEFAULT_LORA_RANK });
    const a = parseTrainArgs(['-c', file, '--lora-rank', '8', '-o', 'elsewhere', '--json'])!;
    expect(a.cfg.lora).toEqual({ rank: 8 });
    expect(a.cfg.output).toBe(path.resolve('elsewhere'));
    expect(a.json).toBe(true);
    writeFileSync(file, JSON.stringify({ ...BASE, lora: { rank: 4, alpha: 2, initFrom: './start.safetensors' } }));
    expect(parseTrainArgs(['-c', file, '--lora-rank', '8'])!.cfg.lora).toEqual({ rank: 8, alpha: 2, initFrom: path.join(dir, 'start.safetensors') });
    expect(() => parseTrainArgs(['-c', file, '--lora-rank', 'x'])).toThrow(C.ArgumentError);
    expect(() => parseTrainArgs(['-c', file, '--steps', '0'])).toThrow(C.ArgumentError);
    expect(() => parseTrainArgs([])).toThrow(/--config is required/);
    expect(() => parseTrainArgs(['-c', path.join(dir, 'missing.json')])).toThrow(C.ConfigError);
  });

  test('the example configs are valid; the LoRA one trains rank 16 on the default targets', () => {
    const dir = path.resolve(__dirname, '../examples');
    for (const f of ['train.sdxs-1b.json', 'lora.sdxs-1b.json']) validateTrainConfig(JSON.parse(readFileSync(path.join(dir, f), 'utf8')), f);
    const lora = JSON.parse(readFileSync(path.join(dir, 'lora.sdxs-1b.json'), 'utf8')) as { lora: Record<string, unknown>; gradientCheckpointing: boolean };
    expect(lora.lora).toMatchObject({ rank: 16 });
    expect(lora.lora.targets).toBeUndefined();
    expect(lora.gradientCheckpointing).toBe(true);
  });
});
