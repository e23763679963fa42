import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, expect, test } from 'vitest';
import * as ort from 'onnxruntime-node';
import * as C from '@sdxs/core';
import { AsymmetricAutoencoderKL } from '@sdxs/vae';
import { runCli, tempDir } from './helpers.js';

let dir: string;
let tiny: string;
beforeAll(async () => {
  dir = await tempDir('sdxs-cli-export-');
  tiny = path.join(dir, 'tiny');
  expect((await runCli(['make-tiny-model', tiny])).code).toBe(0);
});

test('sdxs export onnx writes the parts asked for; the decoder run by onnxruntime-node equals the VAE on cpu', async () => {
  const out = path.join(dir, 'onnx');
  const r = await runCli(['export', 'onnx', tiny, '-o', out, '--component', 'vae-decoder,unet', '-W', '64', '-H', '32']);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout.trim()).toBe(out);
  const index = JSON.parse(readFileSync(path.join(out, 'model_index.json'), 'utf8'));
  expect(Object.keys(index.components)).toEqual(['vae-decoder', 'unet']);
  const latentShape = index.components['vae-decoder'].inputs[0].shape as number[];
  expect(latentShape).toEqual([1, 32, 2, 4]);

  await C.setBackend('cpu');
  const latent = C.randomNormal(latentShape, { seed: 3 });
  const vae = await AsymmetricAutoencoderKL.fromPretrained(tiny, { subfolder: 'vae' });
  const want = (await vae.decode(latent).data()) as Float32Array;
  const session = await ort.InferenceSession.create(path.join(out, index.components['vae-decoder'].model));
  const res = await session.run({ latent: new ort.Tensor('float32', (await latent.data()) as Float32Array, latentShape) });
  await session.release();
  const got = res.sample!.data as Float32Array;
  expect(res.sample!.dims).toEqual([1, 3, 32, 64]);
  let err = 0;
  for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i]! - want[i]!));
  expect(err).toBeLessThan(1e-4);
  vae.dispose();
});

test('sdxs export usage errors: no format, another format, no -o, a bad part or compute, a non-empty folder (exit 2)', async () => {
  const full = path.join(dir, 'full');
  writeFileSync(path.join(dir, 'note.txt'), 'x');
  const cases: [string[], RegExp][] = [
    [['export'], /sdxs export onnx <model>/],
    [['export', 'tflite', tiny, '-o', full], /got 'tflite'/],
    [['export', 'onnx', tiny], /-o <dir>/],
    [['export', 'onnx', tiny, '-o', full, '--component', 'vae'], /--component must be one of unet, vae-encoder, vae-decoder, text-encoder/],
    [['export', 'onnx', tiny, '-o', full, '--compute', 'bf16'], /--compute must be f16, f32 or int8/],
    [['export', 'onnx', tiny, '-o', dir], /is not empty; use --force/],
  ];
  for (const [argv, message] of cases) {
    const r = await runCli(argv);
    expect(r.code, argv.join(' ')).toBe(2);
    expect(r.stderr, argv.join(' ')).toMatch(message);
  }
});
