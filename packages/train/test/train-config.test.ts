import * as C from '@sdxs/core';
import { parseUNetConfig } from '@sdxs/unet';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { TRAIN_LIMITS, validateTrainConfig } from '../src/config.js';
import { parseTrainArgs } from '../src/train-args.js';
import { fixturesDir } from '@sdxs/core/testing';

const BASE = { model: './m', dataset: './d', output: './o', steps: 10 };

function configError(cfg: unknown): Error {
  let err: unknown;
  try {
    validateTrainConfig(cfg, 'x.json');
  } catch (e) {
    err = e;
  }
  expect(err, C.previewValue(cfg, 200)).toBeInstanceOf(C.ConfigError);
  const m = (err as Error).message;
  expect(m).toMatch(/^x\.json: /);
  expect(m.length).toBeLessThan(600);
  expect(m).not.toContain('\n');
  return err as Error;
}

/** An object nested `depth` levels deep: JSON.stringify of it overflows the stack. */
function deep(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}

describe('the training config is validated up front', () => {
  test('a string where a number belongs is an error quoting the value as written, never a coercion', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ lr: { baseLr: 'NaN' } }, /'lr\.baseLr' must be a number in \(0, 1\], got "NaN"/],
      [{ lr: { baseLr: '1e-4' } }, /'lr\.baseLr' .*got "1e-4"/],
      [{ batchSize: '32' }, /'batchSize' must be an integer from 1 to \d+, got "32"/],
      [{ steps: '10' }, /'steps' must be an integer .*got "10"/],
      [{ seed: '3' }, /'seed' .*got "3"/],
      [{ clipNorm: '1' }, /'clipNorm' .*got "1"/],
      [{ condDropout: '0.1' }, /'condDropout' .*got "0\.1"/],
      [{ ema: '0.999' }, /'ema' must be a decay in \(0, 1\).*got "0\.999"/],
      [{ gradientCheckpointing: 'true' }, /'gradientCheckpointing' must be true or false, got "true"/],
      [{ lora: { rank: '32' } }, /'lora\.rank' must be an integer from 1 to 1024, got "32"/],
      [{ timesteps: { mean: '0' } }, /'timesteps\.mean' .*got "0"/],
      [{ optimizerOptions: { betas: ['0.9', 0.999] } }, /'optimizerOptions\.betas\[0\]' .*got "0\.9"/],
    ];
    for (const [keys, msg] of cases) expect(configError({ ...BASE, ...keys }).message).toMatch(msg);
  });

  test('numbers out of range, non-finite or absurdly large are refused naming the key', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ lr: { baseLr: 1e300 } }, /'lr\.baseLr'.*got 1e\+300/],
      [{ lr: { baseLr: -1e-4 } }, /'lr\.baseLr'/],
      [{ lr: { baseLr: 0 } }, /'lr\.baseLr'/],
      [{ lr: { baseLr: 1e-4, minLr: 1e-3 } }, /'lr\.minLr' \(0\.001\) exceeds 'lr\.baseLr'/],
      [{ lr: { warmupSteps: -1 } }, /'lr\.warmupSteps'/],
      [{ lr: { stageMultipliers: [1, 1e9] } }, /'lr\.stageMultipliers\[1\]'/],
      [{ lr: { stageMultipliers: [1, 2], stageStarts: [0, 0] } }, /'lr\.stageStarts' must be ascending/],
      [{ lr: { decay: 'exponential' } }, /'lr\.decay' must be one of 'cosine', 'linear', 'constant', got "exponential"/],
      [{ ema: 2 }, /'ema' must be a number in \(0, 1\), got 2/],
      [{ ema: 1 }, /'ema'/],
      [{ ema: 0 }, /'ema'/],
      [{ ema: { decay: 2 } }, /'ema\.decay' must be a number in \(0, 1\), got 2/],
      [{ ema: { decay: '0.9' } }, /'ema\.decay'.*got "0\.9"/],
      [{ ema: {} }, /'ema\.decay' must be given/],
      [{ ema: [0.9] }, /'ema' must be a decay/],
      [{ optimizer: 'sgd2' }, /'optimizer' must be one of 'adamw', 'adamw8bit', got "sgd2"/],
      [{ optimizer: 'adamw', optimizerOptions: { blockSize: 256 } }, /'optimizerOptions\.blockSize' applies to optimizer 'adamw8bit' only/],
      [{ optimizerOptions: { blockSize: 512 } }, /'optimizerOptions\.blockSize' must be 256 or 2048, got 512/],
      [{ optimizerOptions: { eps: 0 } }, /'optimizerOptions\.eps'/],
      [{ optimizerOptions: { betas: [0.9, 1] } }, /'optimizerOptions\.betas\[1\]'/],
      [{ optimizerOptions: { betas: [0.9] } }, /'optimizerOptions\.betas' must be two numbers/],
      [{ optimizerOptions: { weightDecay: -0.01 } }, /'optimizerOptions\.weightDecay'/],
      [{ timesteps: { kind: 'normal' } }, /'timesteps\.kind' must be one of 'uniform', 'logit-normal', got "normal"/],
      [{ timesteps: { std: 0 } }, /'timesteps\.std'/],
      [{ timesteps: { shift: -1 } }, /'timesteps\.shift'/],
      [{ clipNorm: -1 }, /'clipNorm' must be a number in \(0, .*got -1/],
      [{ clipNorm: 0 }, /'clipNorm'/],
      [{ keepCheckpoints: -1 }, /'keepCheckpoints' must be an integer from 1 to \d+, got -1/],
      [{ keepCheckpoints: 0 }, /'keepCheckpoints'/],
      [{ checkpointEvery: 0 }, /'checkpointEvery' must be an integer from 1 to \d+, got 0/],
      [{ checkpointEvery: 2.5 }, /'checkpointEvery'/],
      [{ seed: 0.5 }, /'seed' must be an integer from 0 to 4294967295, got 0\.5/],
      [{ seed: -1 }, /'seed'.*got -1/],
      [{ seed: 2 ** 40 }, /'seed'/],
      [{ steps: 1e12 }, new RegExp(`'steps' must be an integer from 1 to ${TRAIN_LIMITS.steps}, got 1000000000000`)],
      [{ steps: 0 }, /'steps'/],
      [{ batchSize: 1e9 }, new RegExp(`'batchSize' must be an integer from 1 to ${TRAIN_LIMITS.batchSize}, got 1000000000`)],
      [{ gradAccumulation: 0 }, /'gradAccumulation' must be an integer from 1 to \d+, got 0/],
      [{ gradAccumulation: 1.5 }, /'gradAccumulation'/],
      [{ condDropout: 1 }, /'condDropout'/],
      [{ plotEvery: 0 }, /'plotEvery'/],
      [{ sampleEvery: -1 }, /'sampleEvery'/],
      [{ sampleSteps: 1e9 }, /'sampleSteps'/],
      [{ sampleItems: 0 }, /'sampleItems'/],
      [{ sampleGuidance: Number.NaN }, /'sampleGuidance'/],
      [{ saveDtype: 'fp16' }, /'saveDtype' must be one of 'float32', 'float16', 'bfloat16', got "fp16"/],
      [{ model: 3 }, /'model' must be a path/],
      [{ backend: '' }, /'backend'/],
      [{ lora: { rank: 4, alpha: 1e400 } }, /'lora\.alpha'.*got Infinity/],
    ];
    for (const [keys, msg] of cases) expect(configError({ ...BASE, ...keys }).message, JSON.stringify(keys)).toMatch(msg);
  });

  test('unknown keys are an error naming the key, at any level, even holding a value too deep to serialise', () => {
    expect(configError({ ...BASE, learningRate: 1e-4 }).message).toMatch(/unknown key 'learningRate' \(known: model, .*\); remove it or fix its spelling/);
    expect(configError({ ...BASE, extra: deep(100_000) }).message).toMatch(/unknown key 'extra'/);
    expect(configError({ ...BASE, lr: { baseLR: 1e-4 } }).message).toMatch(/unknown key 'lr\.baseLR' in 'lr'/);
    expect(configError({ ...BASE, timesteps: { kind: 'uniform', sigma: 1 } }).message).toMatch(/unknown key 'timesteps\.sigma'/);
    expect(configError({ ...BASE, optimizerOptions: { beta1: 0.9 } }).message).toMatch(/unknown key 'optimizerOptions\.beta1'/);
    expect(configError({ ...BASE, ema: { decay: 0.9, warmup: 10 } }).message).toMatch(/unknown key 'ema\.warmup'/);
    expect(configError({ ...BASE, lora: { rank: 4, extra: deep(100_000) } }).message).toMatch(/unknown key 'lora\.extra'/);
    // comments ("//" keys) are text, never a place to hide a deep value
    expect(configError({ ...BASE, '//': deep(100_000) }).message).toMatch(/'\/\/' must be a string \(keys starting with \/\/ are comments\)/);
    expect(configError({ ...BASE, lora: { rank: 4, '//x': deep(10) } }).message).toMatch(/'lora\.\/\/x' must be a string/);
    expect(configError(null).message).toMatch(/'config' must be an object/);
    expect(configError([]).message).toMatch(/'config' must be an object/);
  });

  test('valid values pass; ema as { "decay": d } is read as the decay number (not written as NaN weights)', () => {
    const ok = validateTrainConfig({
      ...BASE,
      '//': 'a comment',
      seed: 0,
      batchSize: 2,
      gradAccumulation: 3,
      optimizer: 'adamw8bit',
      optimizerOptions: { betas: [0.9, 0.99], eps: 1e-8, weightDecay: 0.01, blockSize: 2048, quantMap: 'linear', min8bitSize: 0 },
      lr: { baseLr: 1e-4, minLr: 1e-5, warmupSteps: 2, totalSteps: 10, decay: 'linear', stageMultipliers: [0.5, 1], stageStarts: [0, 5] },
      clipNorm: null,
      ema: { decay: 0.9 },
      timesteps: { kind: 'logit-normal', mean: 0, std: 1, shift: 3 },
      condDropout: 0.1,
      checkpointEvery: 5,
      keepCheckpoints: 1,
      plotEvery: 1,
      sampleEvery: 0,
      saveDtype: 'bfloat16',
    });
    expect(ok.ema).toBe(0.9);
    expect(validateTrainConfig({ ...BASE, ema: 0.999 }).ema).toBe(0.999);
    expect(validateTrainConfig({ ...BASE, ema: null }).ema).toBeNull();
  });

  test('a BOM is accepted in the training config as in unet/config.json (one rule for every JSON config reader)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sdxs-train-bom-'));
    const file = path.join(dir, 'train.json');
    writeFileSync(file, `\ufeff${JSON.stringify({ ...BASE, batchSize: 2 })}`);
    expect(parseTrainArgs(['-c', file])!.cfg.batchSize).toBe(2);
    expect(C.parseConfig(`\ufeff${JSON.stringify({ in_channels: 4 })}`, 'unet/config.json')).toEqual({ in_channels: 4 });
    // and in a sharded checkpoint's index
    writeFileSync(path.join(dir, 'shard.safetensors'), C.serializeSafetensors({ w: { dtype: 'F32', shape: [1], data: Float32Array.of(2) } }));
    writeFileSync(path.join(dir, 'model.safetensors.index.json'), `\ufeff${JSON.stringify({ weight_map: { w: 'shard.safetensors' } })}`);
    const sharded = await C.loadSafetensorsIndex(path.join(dir, 'model.safetensors.index.json'));
    expect(sharded.names()).toEqual(['w']);
    await sharded.close();
    // not JSON at all stays a ConfigError naming the file
    writeFileSync(file, '\ufeff{"model": ');
    expect(() => parseTrainArgs(['-c', file])).toThrow(new RegExp(`${file.replace(/[.\\/]/g, '\\$&')}: config is not valid JSON`));
    expect(() => parseTrainArgs(['-c', dir])).toThrow(/is a folder, not a JSON config file/);
    // --steps is held to the same bound as "steps"
    writeFileSync(file, JSON.stringify(BASE));
    expect(() => parseTrainArgs(['-c', file, '--steps', '1e12'])).toThrow(C.ArgumentError);
    expect(() => parseTrainArgs(['-c', file, '--steps', '99999999999'])).toThrow(/--steps expects an integer from 1 to/);
  });

  test('the UNet config quotes a string given for an integer key ("32", not 32)', () => {
    const tiny = C.parseConfig(readFileSync(path.join(fixturesDir(), 'diffusers', 'unet-tiny', 'config.json'), 'utf8'), 'config.json');
    expect(() => parseUNetConfig({ ...tiny, in_channels: '32' }, 'unet/config.json')).toThrow(/key 'in_channels' should be an integer but is "32"/);
    expect(() => parseUNetConfig({ ...tiny, norm_eps: '1e-5' }, 'unet/config.json')).toThrow(/key 'norm_eps' should be a number but is "1e-5"/);
  });
});
