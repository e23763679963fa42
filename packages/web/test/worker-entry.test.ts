/**
 * The page's worker entry (src/worker/sdxs.worker.ts) in Node, where there is no DOM: it is imported with `self`
 * set to one end of a real MessageChannel (what a worker's global scope is to it), answers an SdxsWorkerClient
 * on the other end, starts the cpu backend through the page's own backend start and upscales with a tiny model.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { SdxsWorkerClient } from '@sdxs/pipeline/worker-client';
import { AsymmetricAutoencoderKL, upscale } from '@sdxs/vae';
import { makeTinyModel } from '../../../tools/make-tiny-model.js';

let dir: string;
let channel: MessageChannel;
let client: SdxsWorkerClient;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sdxs-web-worker-'));
  await makeTinyModel(path.join(dir, 'model'));
  channel = new MessageChannel();
  client = new SdxsWorkerClient(channel.port1 as unknown as ConstructorParameters<typeof SdxsWorkerClient>[0]);
}, 120_000);

afterAll(async () => {
  client?.close();
  channel?.port2.close();
  delete (globalThis as { self?: unknown }).self;
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('the worker entry loads without document or window and serves a job on the port it is given as self', async () => {
  expect(typeof (globalThis as { document?: unknown }).document).toBe('undefined');
  expect(typeof (globalThis as { window?: unknown }).window).toBe('undefined');
  (globalThis as { self?: unknown }).self = channel.port2;
  await import('../src/worker/sdxs.worker.js');
  expect(await client.ready()).toEqual({ thread: 'main' });
  const info = await client.useBackend('cpu');
  expect(info).toMatchObject({ name: 'cpu', choice: 'cpu', compute: 'float32', started: true });
  // Node has no navigator.gpu: the page's backend start finds no adapter
  expect(info.adapter).toBeNull();

  const [w, h] = [12, 8];
  const data = Uint8Array.from({ length: w * h * 4 }, (_, i) => (i % 4 === 3 ? 255 - i : (i * 29) % 256));
  const got = await client.upscale({ modelUrl: path.join(dir, 'model'), dtype: 'float32', image: { width: w, height: h, channels: 4, data }, png: true });
  const vae = await AsymmetricAutoencoderKL.fromPretrained(path.join(dir, 'model'), { subfolder: 'vae', dtype: 'float32' });
  const want = await upscale(vae, { width: w, height: h, channels: 4, data });
  vae.dispose();
  expect([got.image.width, got.image.height, got.image.channels]).toEqual([2 * w, 2 * h, 4]);
  expect(Buffer.from(got.image.data).equals(Buffer.from(want.data))).toBe(true);
  expect(Array.from(got.png!.subarray(0, 4))).toEqual([137, 80, 78, 71]);

  // the page's backend names: an unknown one fails to start, as a backend-start error
  await expect(client.useBackend('nope')).rejects.toMatchObject({ kind: 'backend-start', message: "unknown backend 'nope'" });
});
