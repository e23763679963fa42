import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import * as C from '@sdxs/core';
import { AsymmetricAutoencoderKL } from '../src/index.js';
import { budgetOf, forEachBackend, PARITY_BACKENDS, reducedPrecision } from '@sdxs/core/testing';
import { compare, readAll, vaeTinyDir } from './helpers/fixtures.js';

const kase = JSON.parse(fs.readFileSync(path.join(vaeTinyDir, 'case.json'), 'utf8')) as { tolerance: { atol: number; rtol: number } };
const { atol, rtol } = kase.tolerance;

forEachBackend((backend) => {
  let vae: AsymmetricAutoencoderKL;
  let io: Map<string, C.Tensor>;
  beforeAll(async () => {
    vae = await AsymmetricAutoencoderKL.fromPretrained(vaeTinyDir);
    io = await readAll(path.join(vaeTinyDir, 'io.safetensors'));
  });
  afterAll(() => {
    vae?.dispose();
    if (io) C.dispose([...io.values()]);
  });

  const report = (check: string, d: { maxAbs: number; worstExcess: number; rel: number }): void => {
    console.log(`[vae parity] ${backend} ${check}: max |err| = ${d.maxAbs.toExponential(2)}, / max |ref| = ${d.rel.toExponential(2)}`);
    if (reducedPrecision(backend)) expect(d.rel, `${check}: ${reducedPrecision(backend)} error ${d.rel} of max |ref| exceeds the budget ${budgetOf(backend)}`).toBeLessThanOrEqual(budgetOf(backend));
    else expect(d.worstExcess, `${check} exceeds atol ${atol} + rtol ${rtol}·|expected| (max |err| ${d.maxAbs})`).toBeLessThanOrEqual(0);
  };

  test('encode(image) → posterior mean and logvar', async () => {
    const before = C.memory().numTensors;
    const post = vae.encode(io.get('image')!);
    report('encode.mean', await compare(post.mean, io.get('posterior_mean')!, atol, rtol));
    report('encode.logvar', await compare(post.logvar, io.get('posterior_logvar')!, atol, rtol));
    post.dispose();
    expect(C.memory().numTensors).toBe(before);
  });

  test('decode(latent) → decoded', async () => {
    const before = C.memory().numTensors;
    const out = vae.decode(io.get('latent')!);
    report('decode', await compare(out, io.get('decoded')!, atol, rtol));
    out.dispose();
    expect(C.memory().numTensors).toBe(before);
  });

  test('decode(encode(image).mean) → upscaled (2x)', async () => {
    const before = C.memory().numTensors;
    const post = vae.encode(io.get('image')!);
    const out = vae.decode(post.mean);
    post.dispose();
    expect(out.shape).toEqual([1, 3, 48, 80]);
    report('upscale', await compare(out, io.get('upscaled')!, atol, rtol));
    out.dispose();
    expect(C.memory().numTensors).toBe(before);
  });
}, { backends: PARITY_BACKENDS });
