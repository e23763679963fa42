import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as C from '@sdxs/core';
import { SdxsPipeline, type PipelineProgress } from '@sdxs/pipeline';
import { startStaticServer, type StaticServer } from '@sdxs/core/testing';
import { makeTinyModel } from '../../../tools/make-tiny-model.js';

let dir: string;
let server: StaticServer;

beforeAll(async () => {
  await C.setBackend('cpu');
  dir = await mkdtemp(path.join(tmpdir(), 'sdxs-pipe-url-'));
  await makeTinyModel(path.join(dir, 'model'));
  server = await startStaticServer({ m: path.join(dir, 'model') });
}, 120_000);

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('SdxsPipeline.fromPretrained(http folder URL), as the browser page loads it', () => {
  test('every part loads over HTTP (Range reads, no cache, no file system) and generates the same pixels as the local folder', async () => {
    const cacheDir = path.join(dir, 'cache');
    const url = `${server.url.replace('localhost', '127.0.0.1')}/m`;
    const seen: PipelineProgress[] = [];
    const viaUrl = await SdxsPipeline.fromPretrained(url, { cacheDir, onProgress: (p) => seen.push(p) });
    const local = await SdxsPipeline.fromPretrained(path.join(dir, 'model'));
    const opts = { prompt: 'a red fox', negativePrompt: 'blurry', width: 32, height: 32, steps: 2, guidanceScale: 3, seed: 11 };
    const a = await viaUrl.generate(opts);
    const b = await local.generate(opts);
    expect(a.images[0]!.planar).toEqual(b.images[0]!.planar);
    const up = await viaUrl.upscale({ width: 8, height: 8, channels: 3, data: new Uint8Array(192).fill(128) });
    expect([up.width, up.height]).toEqual([16, 16]);

    // weights were read with Range requests from every component folder; the hub cache was never touched
    const ranged = server.requests.filter((r) => / bytes=/.test(r)).map((r) => r.split(' ')[1]!.split('/')[2]);
    expect(new Set(ranged)).toEqual(new Set(['vae', 'unet', 'text_encoder']));
    for (const f of ['model_index.json', 'tokenizer/tokenizer.json', 'scheduler/scheduler_config.json']) expect(server.requests.some((r) => r.includes(`/m/${f}`))).toBe(true);
    await expect(readdir(cacheDir)).rejects.toThrow(/ENOENT/);
    expect(seen.some((p) => p.stage === 'download')).toBe(false);
    expect(seen.some((p) => p.stage === 'load' && p.detail === 'unet')).toBe(true);
    viaUrl.dispose();
    local.dispose();
  }, 120_000);

  test('a URL without model_index.json fails with a ConfigError naming the URL', async () => {
    const url = `${server.url.replace('localhost', '127.0.0.1')}/m/vae`;
    await expect(SdxsPipeline.fromPretrained(url)).rejects.toThrow(/model_index\.json: config file not found/);
  });
});
