import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { skipUnless } from '@sdxs/core/testing';
import { ConfigError, SafetensorsError } from '../src/errors.js';
import { loadConfig } from '../src/io/config.js';
import { loadSafetensors } from '../src/io/safetensors.js';
import { serializeSafetensors } from '../src/io/safetensors-write.js';

const root = mkdtempSync(path.join(tmpdir(), 'sdxs-local-file-'));
afterAll(() => rm(root, { recursive: true, force: true }));
const weights = serializeSafetensors({ x: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) } });

describe('local model file policy', () => {
  it.skipIf(skipUnless(process.platform !== 'win32', 'FIFOs: not on Windows', { ciRequired: false }))('a FIFO given as a model file is refused at once, never blocks', async () => {
    const dir = path.join(root, 'fifo');
    mkdirSync(dir);
    execFileSync('mkfifo', [path.join(dir, 'config.json'), path.join(dir, 'm.safetensors')]);
    const t0 = performance.now();
    await expect(loadConfig(dir)).rejects.toThrow(ConfigError);
    await expect(loadConfig(dir)).rejects.toThrow(/FIFO/);
    await expect(loadSafetensors(path.join(dir, 'm.safetensors'))).rejects.toThrow(SafetensorsError);
    await expect(loadSafetensors(path.join(dir, 'm.safetensors'))).rejects.toThrow(/FIFO/);
    expect(performance.now() - t0).toBeLessThan(2000);
  }, 5000);

  it('a symlinked shard pointing outside the model folder is refused; one inside is followed', async () => {
    const outside = path.join(root, 'elsewhere');
    mkdirSync(outside);
    writeFileSync(path.join(outside, 'secret.safetensors'), weights);
    writeFileSync(path.join(outside, 'config.json'), '{"a":1}');
    const model = path.join(root, 'model');
    mkdirSync(model);
    symlinkSync(path.join(outside, 'secret.safetensors'), path.join(model, 'm.safetensors'));
    symlinkSync(path.join(outside, 'config.json'), path.join(model, 'config.json'));
    await expect(loadSafetensors(path.join(model, 'm.safetensors'))).rejects.toThrow(/outside the model folder/);
    await expect(loadConfig(model)).rejects.toThrow(/outside the model folder/);
    writeFileSync(path.join(model, 'real.safetensors'), weights);
    symlinkSync('real.safetensors', path.join(model, 'alias.safetensors'));
    const f = await loadSafetensors(path.join(model, 'alias.safetensors'));
    expect([...(await f.readTyped('x'))]).toEqual([1, 2]);
    await f.close();
  });

  it('hub cache snapshots, whose files link into the repo blobs/, are followed', async () => {
    const repo = path.join(root, 'hub', 'models--org--name');
    mkdirSync(path.join(repo, 'blobs'), { recursive: true });
    mkdirSync(path.join(repo, 'snapshots', 'abc', 'vae'), { recursive: true });
    writeFileSync(path.join(repo, 'blobs', 'e1'), '{"b":2}');
    symlinkSync('../../../blobs/e1', path.join(repo, 'snapshots', 'abc', 'vae', 'config.json'));
    expect(await loadConfig(path.join(repo, 'snapshots', 'abc'), 'vae')).toEqual({ b: 2 });
  });
});
