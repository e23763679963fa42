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

  test('a LoRA with NaN values, rank 0 or no tensors exits 3 naming file and module; one that overflows the model exits 1 and writes no image', async () => {
    const key = 'unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k';
    const gen = (lora: string, out: string): Promise<{ code: number; stderr: string }> =>
      runCli(['generate', 'a fox', '--model', path.join(work, 'model'), '-W', '32', '-H', '32', '--steps', '1', '--cfg', '1', '--lora', lora, '-o', path.join(work, out), '-q'], { SDXS_BACKEND: 'cpu' });
    const nan = path.join(work, 'nan.safetensors');
    await C.saveSafetensors(nan, {
      [`${key}.lora_A.weight`]: { dtype: 'F32', shape: [2, 24], data: new Float32Array(48).fill(0.1) },
      [`${key}.lora_B.weight`]: { dtype: 'F16', shape: [8, 2], data: new Uint16Array(16).fill(0x7e00) },
    });
    const rank0 = path.join(work, 'rank0.safetensors');
    await C.saveSafetensors(rank0, {
      [`${key}.lora_A.weight`]: { dtype: 'F32', shape: [0, 24], data: new Float32Array(0) },
      [`${key}.lora_B.weight`]: { dtype: 'F32', shape: [8, 0], data: new Float32Array(0) },
    });
    const empty = path.join(work, 'empty.safetensors');
    await C.saveSafetensors(empty, {});
    const alpha = path.join(work, 'alpha-string.safetensors');
    await C.saveSafetensors(
      alpha,
      { [`${key}.lora_A.weight`]: { dtype: 'F32', shape: [2, 24], data: new Float32Array(48).fill(0.1) }, [`${key}.lora_B.weight`]: { dtype: 'F32', shape: [8, 2], data: new Float32Array(16).fill(0.1) } },
      { lora_adapter_metadata: '{"lora_alpha": "8"}' },
    );
    for (const [file, want] of [
      [nan, new RegExp(`nan\\.safetensors \\[${key.replace(/\./g, '\\.')}\\.lora_B\\.weight\\]: .*not finite`)],
      [rank0, /rank0\.safetensors: LoRA does not fit the unet: down_blocks\.0\.attentions\.0\.transformer_blocks\.0\.attn2\.to_k: .*rank 0/],
      [empty, /empty\.safetensors: the LoRA file holds no tensors/],
      [alpha, /alpha-string\.safetensors \(metadata lora_adapter_metadata\): 'lora_alpha' must be a finite number, got "8"/],
    ] as const) {
      const r = await gen(file, 'bad.png');
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr).toMatch(want);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    const huge = path.join(work, 'huge.safetensors');
    await C.saveSafetensors(huge, {
      [`${key}.lora_A.weight`]: { dtype: 'F32', shape: [2, 24], data: new Float32Array(48).fill(3e37) },
      [`${key}.lora_B.weight`]: { dtype: 'F32', shape: [8, 2], data: new Float32Array(16).fill(3e37) },
    });
    const r = await gen(huge, 'black.png');
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/latents became non-finite/);
    await expect(readFile(path.join(work, 'black.png'))).rejects.toThrow(/ENOENT/);
    await expect(readFile(path.join(work, 'bad.png'))).rejects.toThrow(/ENOENT/);
  }, 180_000);
});
