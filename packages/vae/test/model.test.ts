import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as C from '@sdxs/core';
import { AsymmetricAutoencoderKL, parseVaeConfig } from '../src/index.js';
import { startLocalHub } from '@sdxs/core/testing';
import { compare, readAll, vaeTinyDir } from './helpers/fixtures.js';

const rawConfig = async (): Promise<C.ConfigObject> => JSON.parse(await fs.readFile(path.join(vaeTinyDir, 'config.json'), 'utf8')) as C.ConfigObject;
let dir: string;
beforeAll(async () => {
  await C.setBackend('cpu');
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sdxs-vae-model-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** A model folder with the fixture's weights and a modified config. */
async function folder(name: string, edit: (c: C.ConfigObject) => void, weights = true): Promise<string> {
  const d = path.join(dir, name);
  await fs.mkdir(d, { recursive: true });
  const c = await rawConfig();
  edit(c);
  await fs.writeFile(path.join(d, 'config.json'), JSON.stringify(c));
  if (weights) await fs.copyFile(path.join(vaeTinyDir, 'diffusion_pytorch_model.safetensors'), path.join(d, 'diffusion_pytorch_model.safetensors'));
  return d;
}

describe('config', () => {
  const required = ['in_channels', 'out_channels', 'down_block_types', 'down_block_out_channels', 'layers_per_down_block', 'up_block_types', 'up_block_out_channels', 'layers_per_up_block', 'act_fn', 'latent_channels', 'norm_num_groups', 'scaling_factor'];
  test.each(required)('a missing %s is a ConfigError naming it', async (key) => {
    const c = await rawConfig();
    delete c[key];
    expect(() => parseVaeConfig(c)).toThrow(C.ConfigError);
    expect(() => parseVaeConfig(c)).toThrow(new RegExp(`'${key}'`));
  });

  test('bad values name the key', async () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ norm_num_groups: 3 }, /not divisible by norm_num_groups/],
      [{ down_block_types: ['DownEncoderBlock2D'] }, /'down_block_types' has 1 entries/],
      [{ up_block_types: ['UpDecoderBlock2D', 'UpDecoderBlock2D', 'AttnUpDecoderBlock2D', 'UpDecoderBlock2D', 'UpDecoderBlock2D'] }, /'up_block_types'\[2\]/],
      [{ act_fn: 'mish' }, /'act_fn'/],
      [{ latent_channels: 'x' }, /'latent_channels' should be an integer/],
      [{ latents_mean: [0, 1] }, /'latents_mean' has 2 entries; expected 32/],
      [{ _class_name: 'AutoencoderKL' }, /'_class_name'/],
      // absurd, negative and non-divisible values: a ConfigError at once, not minutes of allocation or NaN output
      [{ layers_per_down_block: 1e9 }, /'layers_per_down_block' must be an integer in \[1, 64\]/],
      [{ layers_per_up_block: 1e9 }, /'layers_per_up_block'/],
      [{ norm_num_groups: -1 }, /'norm_num_groups' must be a positive integer/],
      [{ latent_channels: 1e7 }, /'latent_channels'/],
      [{ in_channels: 0 }, /'in_channels'/],
      [{ down_block_out_channels: [128, 256, 1e8, 512] }, /'down_block_out_channels\[2\]'/],
      [{ up_block_out_channels: new Array(40).fill(32), up_block_types: new Array(40).fill('UpDecoderBlock2D') }, /at most 12/],
      [{ scaling_factor: -1 }, /'scaling_factor' must be a number > 0/],
      [{ scaling_factor: 0 }, /'scaling_factor'/],
    ];
    const base = await rawConfig();
    for (const [patch, re] of bad) expect(() => parseVaeConfig({ ...base, ...patch })).toThrow(re);
  });

  test('builds any valid config with the diffusers parameter names', async () => {
    const vae = new AsymmetricAutoencoderKL({ ...(await rawConfig()), down_block_out_channels: [4, 8], down_block_types: ['DownEncoderBlock2D', 'DownEncoderBlock2D'], up_block_out_channels: [4, 8, 8], up_block_types: ['UpDecoderBlock2D', 'UpDecoderBlock2D', 'UpDecoderBlock2D'], layers_per_down_block: 1, layers_per_up_block: 1 });
    const names = vae.namedParameters().map(([n]) => n);
    expect(names).toContain('encoder.down_blocks.0.downsamplers.0.conv.weight');
    expect(names).not.toContain('encoder.down_blocks.1.downsamplers.0.conv.weight');
    expect(names).toContain('decoder.up_blocks.1.resnets.1.conv2.weight');
    expect(names).toContain('decoder.up_blocks.1.upsamplers.0.conv.weight');
    expect(names).not.toContain('decoder.up_blocks.2.upsamplers.0.conv.weight');
    expect(names).toContain('decoder.condition_encoder.layers.4.weight');
    expect(names).toContain('decoder.mid_block.attentions.0.to_out.0.weight');
    expect([vae.encoderScale, vae.decoderScale, vae.upscaleFactor]).toEqual([2, 4, 2]);
  });
});

describe('loading', () => {
  test('a config that does not match the weights is a CheckpointError naming the tensors', async () => {
    const d = await folder('mismatch', (c) => {
      c.latent_channels = 16;
      delete c.latents_mean;
      delete c.latents_std;
    });
    await expect(AsymmetricAutoencoderKL.fromPretrained(d)).rejects.toThrow(/mis-shaped: .*quant_conv/);
    const d2 = await folder('extra-layer', (c) => (c.layers_per_down_block = 3));
    await expect(AsymmetricAutoencoderKL.fromPretrained(d2)).rejects.toBeInstanceOf(C.CheckpointError);
  });

  test('a missing weights file or folder is a clear error', async () => {
    const d = await folder('noweights', () => {}, false);
    await expect(AsymmetricAutoencoderKL.fromPretrained(d)).rejects.toThrow(/diffusion_pytorch_model\.safetensors/);
    await expect(AsymmetricAutoencoderKL.fromPretrained(path.join(dir, 'nothing-here'))).rejects.toThrow(/does not exist/);
  });

  test('from a hub repo id with a subfolder (local hub server), then from the cache offline', async () => {
    const repo = path.join(dir, 'repo');
    await fs.mkdir(path.join(repo, 'vae'), { recursive: true });
    for (const f of ['config.json', 'diffusion_pytorch_model.safetensors']) await fs.copyFile(path.join(vaeTinyDir, f), path.join(repo, 'vae', f));
    const hub = await startLocalHub({ 'test/sdxs-tiny': repo });
    const cacheDir = path.join(dir, 'cache');
    try {
      const vae = await AsymmetricAutoencoderKL.fromPretrained('test/sdxs-tiny', { subfolder: 'vae', cacheDir, endpoint: hub.url });
      expect(vae.config.latentChannels).toBe(32);
      vae.dispose();
      const again = await AsymmetricAutoencoderKL.fromPretrained('test/sdxs-tiny', { subfolder: 'vae', cacheDir, offline: true });
      again.dispose();
      // An http(s) folder URL (as the browser page uses): config and weights fetched directly, no cache.
      const viaUrl = await AsymmetricAutoencoderKL.fromPretrained(`${hub.url}/test/sdxs-tiny/resolve/main`, { subfolder: 'vae' });
      expect(viaUrl.numParameters()).toBe(vae.numParameters());
      viaUrl.dispose();
    } finally {
      await hub.close();
    }
  });

  test('float16 storage loads and stays close to the reference', async () => {
    const vae = await AsymmetricAutoencoderKL.fromPretrained(vaeTinyDir, { dtype: 'float16' });
    const io = await readAll(path.join(vaeTinyDir, 'io.safetensors'));
    const out = vae.decode(io.get('latent')!);
    const d = await compare(out, io.get('decoded')!, 0, 0);
    expect(d.maxAbs).toBeLessThan(0.05);
    C.dispose([out, [...io.values()]]);
    vae.dispose();
  });
});

describe('posterior and latent normalisation', () => {
  test('sample(seed) is mean + std·ε, the same for the same seed; normalize/denormalize invert each other', async () => {
    const vae = await AsymmetricAutoencoderKL.fromPretrained(vaeTinyDir);
    const x = C.randomUniform([1, 3, 16, 24], { seed: 1 });
    const before = C.memory().numTensors;
    const post = vae.encode(x);
    const [a, b, c] = [post.sample(7), post.sample(7), post.sample(8)];
    expect((await compare(a, b, 0, 0)).maxAbs).toBe(0);
    expect((await compare(a, c, 0, 0)).maxAbs).toBeGreaterThan(0);
    const eps = C.randomNormal(post.mean.shape, { seed: 7 });
    const manual = C.tidy(() => C.add(post.mean, C.mul(C.exp(C.mul(post.logvar, 0.5)), eps)));
    expect((await compare(a, manual, 1e-6, 1e-6)).worstExcess).toBeLessThanOrEqual(0);
    const zn = vae.normalizeLatents(post.mean);
    const mean0 = vae.config.latentsMean![0]!;
    const std0 = vae.config.latentsStd![0]!;
    expect(((await zn.data()) as Float32Array)[0]).toBeCloseTo((((await post.mean.data()) as Float32Array)[0]! - mean0) / std0, 5);
    const back = vae.denormalizeLatents(zn);
    expect((await compare(back, post.mean, 1e-5, 1e-5)).worstExcess).toBeLessThanOrEqual(0);
    C.dispose([a, b, c, eps, manual, zn, back]);
    post.dispose();
    expect(C.memory().numTensors).toBe(before);
    C.dispose(x);
    vae.dispose();
  });
});
