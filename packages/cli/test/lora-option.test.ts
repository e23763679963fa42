import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as C from '@sdxs/core';
import { loraArgs } from '../src/lora-option.js';
import { makeTinyModel } from '../../../tools/make-tiny-model.js';
import { runCli, tempDir } from './helpers.js';

describe('--lora values', () => {
  test('source[:weight], Windows drives and URLs keep their colon, owner/name/file picks a file in a repo', () => {
    expect(loraArgs('generate', ['a.safetensors:0.8', 'b.safetensors', 'C:\\loras\\x.safetensors:-0.5', 'https://h/x.safetensors', 'owner/name/sub/y.safetensors:2'])).toEqual([
      { source: 'a.safetensors', weightName: undefined, weight: 0.8 },
      { source: 'b.safetensors', weightName: undefined, weight: 1 },
      { source: 'C:\\loras\\x.safetensors', weightName: undefined, weight: -0.5 },
      { source: 'https://h/x.safetensors', weightName: undefined, weight: 1 },
      { source: 'owner/name', weightName: 'sub/y.safetensors', weight: 2 },
    ]);
    expect(() => loraArgs('generate', ['a.safetensors:strong'])).toThrow(/weight after ':' must be a number/);
  });
});

describe('sdxs generate --lora', () => {
  let work: string;
  beforeAll(async () => {
    work = await tempDir('sdxs-cli-lora-');
    await makeTinyModel(path.join(work, 'model'));
    await C.setBackend('cpu');
    const n = 2;
    const vals = (len: number, k: number): Float32Array => Float32Array.from({ length: len }, (_, i) => Math.sin(i * 0.37 + k));
    // attn2.to_k of the first down block of the fixture UNet: 24 → 8
    await C.saveSafetensors(path.join(work, 'style.safetensors'), {
      'unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.lora_A.weight': { dtype: 'F32', shape: [n, 24], data: vals(n * 24, 1) },
      'unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.lora_B.weight': { dtype: 'F32', shape: [8, n], data: vals(8 * n, 2) },
    });
  }, 120_000);
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('weight 0 gives the base image; weight 1 changes it; a file that does not fit fails with its name', async () => {
    const run = async (extra: string[], out: string): Promise<Buffer> => {
      const r = await runCli(['generate', 'a fox', '--model', path.join(work, 'model'), '-W', '32', '-H', '32', '--steps', '2', '--cfg', '1', '--seed', '3', '-o', path.join(work, out), '-q', ...extra], { SDXS_BACKEND: 'cpu' });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      return readFile(path.join(work, out));
    };
    const base = await run([], 'base.png');
    const zero = await run(['--lora', `${path.join(work, 'style.safetensors')}:0`], 'zero.png');
    const one = await run(['--lora', path.join(work, 'style.safetensors')], 'one.png');
    expect(Buffer.compare(zero, base)).toBe(0);
    expect(Buffer.compare(one, base)).not.toBe(0);
    const bad = await runCli(['generate', 'a fox', '--model', path.join(work, 'model'), '-W', '32', '-H', '32', '--steps', '1', '--lora', path.join(work, 'model', 'vae', 'diffusion_pytorch_model.safetensors'), '-o', path.join(work, 'x.png'), '-q'], { SDXS_BACKEND: 'cpu' });
    expect(bad.code).toBe(3); // EXIT.input: an adapter that does not fit the model is unusable input
    expect(bad.stderr).toMatch(/diffusion_pytorch_model\.safetensors: LoRA does not fit the unet/);
  }, 180_000);
});
