import * as C from '@sdxs/core';
import { convertDataset } from '@sdxs/data';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { FIXTURES } from './synthetic.js';

/** A fake text encoder with the tiny UNet's cross-attention width (24) and 6 tokens. */
export const fakeText = {
  encode(prompts: string[]) {
    const p = prompts[0] ?? '';
    const s = new Float32Array(6 * 24).map((_, i) => Math.sin((p.charCodeAt(i % Math.max(1, p.length)) || 1) * (i + 1)));
    const m = new Float32Array(6).map((_, i) => (i === 0 || i <= p.length ? 1 : 0));
    return { states: C.fromData(s, [1, 6, 24], 'float32'), mask: C.fromData(m, [1, 6], 'float32') };
  },
};

/**
 * A run folder for `runTrain` / `sdxs train`: `model/` (unet-tiny and vae-tiny fixtures, a scheduler config)
 * and `dataset/` (4 captioned 64x64 images with precomputed latents and conditioning). Returns its root.
 */
export async function makeRunFixture(prefix: string): Promise<string> {
  const root = mkdtempSync(path.join(tmpdir(), prefix));
  const model = path.join(root, 'model');
  mkdirSync(model);
  symlinkSync(path.join(FIXTURES, 'diffusers', 'unet-tiny'), path.join(model, 'unet'));
  symlinkSync(path.join(FIXTURES, 'diffusers', 'vae-tiny'), path.join(model, 'vae'));
  mkdirSync(path.join(model, 'scheduler'));
  writeFileSync(path.join(model, 'scheduler', 'scheduler_config.json'), JSON.stringify({ _class_name: 'FlowMatchEulerDiscreteScheduler', num_train_timesteps: 1000, shift: 5.0 }));
  const images = path.join(root, 'images');
  mkdirSync(images);
  for (let i = 0; i < 4; i++) {
    const raw = Buffer.alloc(64 * 64 * 3).map((_, k) => (k * (i + 3)) % 251);
    await sharp(raw, { raw: { width: 64, height: 64, channels: 3 } }).png().toFile(path.join(images, `img${i}.png`));
    writeFileSync(path.join(images, `img${i}.txt`), `picture number ${i}`);
  }
  const { AsymmetricAutoencoderKL } = await import('@sdxs/vae');
  const vae = await AsymmetricAutoencoderKL.fromPretrained(path.join(FIXTURES, 'diffusers', 'vae-tiny'));
  await convertDataset({ in: images, out: path.join(root, 'dataset'), buckets: { min: 64, max: 128, step: 32 }, workers: 1, precompute: { vae, textEncoder: fakeText } });
  vae.dispose();
  return root;
}

/** Writes `<root>/<name>` with the fixture's model and dataset and the given keys; returns its path. */
export function writeConfig(root: string, name: string, keys: Record<string, unknown>): string {
  const file = path.join(root, name);
  writeFileSync(file, JSON.stringify({ model: './model', dataset: './dataset', output: './run', ...keys }));
  return file;
}

/** Overwrites every `<id>.latent` tensor of the dataset's shards with NaN, in place. */
export function poisonLatents(dataset: string): void {
  for (const f of readdirSync(dataset).filter((n) => /^part-.*\.safetensors$/.test(n))) {
    const file = path.join(dataset, f);
    const bytes = readFileSync(file);
    const n = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; data_offsets: [number, number] }>;
    const fd = openSync(file, 'r+');
    try {
      for (const [k, t] of Object.entries(header)) {
        if (!k.endsWith('.latent')) continue;
        if (t.dtype !== 'F32') throw new Error(`${file} [${k}]: expected F32 latents, got ${t.dtype}`);
        const nan = Buffer.from(new Float32Array((t.data_offsets[1] - t.data_offsets[0]) / 4).fill(Number.NaN).buffer);
        writeSync(fd, nan, 0, nan.length, 8 + n + t.data_offsets[0]);
      }
    } finally {
      closeSync(fd);
    }
  }
}
