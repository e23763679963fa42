/**
 * The worker protocol in Node (no DOM here): `createSdxsWorkerHandler()` behind a real MessageChannel (the
 * structured clone and the transfer of buffers as between a page and a Web Worker), driven by
 * `SdxsWorkerClient`, on the cpu backend and a complete tiny model. Results must equal the same calls made
 * directly; cancellation, queued jobs, errors and backend starts are checked as the client sees them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as C from '@sdxs/core';
import { SdxsPipeline, planarToRgb8 } from '@sdxs/pipeline';
import { createSdxsWorkerHandler, planarToRgba8, type SdxsProgress, type SdxsWorkerHandler } from '@sdxs/pipeline/worker';
import { SdxsWorkerClient, SdxsWorkerError } from '@sdxs/pipeline/worker-client';
import { AsymmetricAutoencoderKL, upscale } from '@sdxs/vae';
import { makeTinyModel } from '../../../tools/make-tiny-model.js';

let dir: string;
let model: string;
let handler: SdxsWorkerHandler;
let channel: MessageChannel;
let client: SdxsWorkerClient;

const PNG_MAGIC = [137, 80, 78, 71, 13, 10, 26, 10];

/** A w x h 8-bit RGB image: gradients and a hard edge. */
function image8(w: number, h: number): Uint8Array {
  const d = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3;
      d[o] = Math.round((255 * x) / (w - 1));
      d[o + 1] = Math.round((255 * y) / (h - 1));
      d[o + 2] = x > w / 2 !== y > h / 2 ? 230 : 25;
    }
  }
  return d;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sdxs-worker-'));
  model = path.join(dir, 'model');
  await makeTinyModel(model);
  handler = createSdxsWorkerHandler({ defaultBackend: 'cpu' });
  channel = new MessageChannel();
  handler.listen(channel.port2 as unknown as Parameters<SdxsWorkerHandler['listen']>[0]);
  client = new SdxsWorkerClient(channel.port1 as unknown as ConstructorParameters<typeof SdxsWorkerClient>[0]);
}, 120_000);

afterAll(async () => {
  client?.close();
  channel?.port2.close();
  await handler?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('SdxsWorkerClient ↔ createSdxsWorkerHandler over a MessageChannel', () => {
  test('the worker modules load without a DOM; the handler says it is ready and where it runs', async () => {
    expect(typeof (globalThis as { document?: unknown }).document).toBe('undefined');
    expect(typeof (globalThis as { window?: unknown }).window).toBe('undefined');
    // no WorkerGlobalScope in Node: the handler runs on "the main thread" of this process
    expect(await client.ready()).toEqual({ thread: 'main' });
  });

  test('useBackend starts a backend once and reports its compute precision', async () => {
    const first = await client.useBackend('cpu');
    expect(first).toMatchObject({ choice: 'cpu', name: 'cpu', compute: 'float32', started: true, thread: 'main', failed: [], passedOver: [] });
    const again = await client.useBackend('cpu');
    expect(again.started).toBe(false);
    expect(client.backend?.name).toBe('cpu');
    const bad = await client.useBackend('no-such-backend').catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(SdxsWorkerError);
    expect((bad as SdxsWorkerError).kind).toBe('backend-start');
    expect((bad as SdxsWorkerError).message).toMatch(/no-such-backend/);
    // a failed start keeps the backend that ran
    expect((await client.useBackend('cpu')).name).toBe('cpu');
  });

  test('upscale: the input moves to the worker, the result equals a direct upscale, with a PNG and progress in order', async () => {
    const [w, h] = [20, 12];
    const data = image8(w, h);
    const events: SdxsProgress[] = [];
    const got = await client.upscale({ modelUrl: model, dtype: 'float32', image: { width: w, height: h, channels: 3, data: data.slice() }, png: true }, { onProgress: (e) => events.push(e) });
    expect([got.image.width, got.image.height, got.image.channels]).toEqual([2 * w, 2 * h, 3]);
    expect(got.image.data).toBeInstanceOf(Uint8Array);
    expect(Array.from(got.png!.subarray(0, 8))).toEqual(PNG_MAGIC);
    expect(got.backend.name).toBe('cpu');
    expect(got.ms).toBeGreaterThan(0);

    const vae = await AsymmetricAutoencoderKL.fromPretrained(model, { subfolder: 'vae', dtype: 'float32' });
    const want = await upscale(vae, { width: w, height: h, channels: 3, data });
    vae.dispose();
    expect(Buffer.from(got.image.data).equals(Buffer.from(want.data))).toBe(true);

    const kinds = events.map((e) => e.kind);
    expect(kinds.indexOf('load')).toBeGreaterThanOrEqual(0);
    expect(kinds.indexOf('loaded')).toBeGreaterThan(kinds.lastIndexOf('load'));
    const tiles = events.filter((e) => e.kind === 'tile');
    expect(tiles.at(-1)).toMatchObject({ stage: 'decode' });
    expect(tiles.at(-1)!.kind === 'tile' && tiles.at(-1)!.done === tiles.at(-1)!.total).toBe(true);
    for (let i = 1; i < events.length; i++) expect(events[i]!.ms).toBeGreaterThanOrEqual(events[i - 1]!.ms);

    // transferInput: the caller's buffer is detached, the result the same
    const moved = data.slice();
    const again = await client.upscale({ modelUrl: model, dtype: 'float32', image: { width: w, height: h, channels: 3, data: moved } }, { transferInput: true });
    expect(moved.byteLength).toBe(0);
    expect(Buffer.from(again.image.data).equals(Buffer.from(want.data))).toBe(true);
    expect(again.png).toBeUndefined();
  });

  test('generate equals the pipeline called directly; RGBA, planar and PNG come back', async () => {
    const req = { modelUrl: model, dtype: 'float32' as const, prompt: 'a red fox', negativePrompt: 'blurry', width: 32, height: 32, steps: 2, guidanceScale: 3, seed: 7 };
    const events: SdxsProgress[] = [];
    const got = await client.generate(req, { onProgress: (e) => events.push(e) });
    const pipe = await SdxsPipeline.fromPretrained(model, { dtype: 'float32' });
    const { images } = await pipe.generate({ ...req });
    pipe.dispose();
    const want = images[0]!;
    expect([got.width, got.height]).toEqual([32, 32]);
    expect(Array.from(got.planar)).toEqual(Array.from(want.planar));
    const rgb = planarToRgb8(want.planar, 32, 32).data;
    expect(got.rgba.length).toBe(32 * 32 * 4);
    for (let i = 0; i < 32 * 32; i++) expect([got.rgba[4 * i], got.rgba[4 * i + 1], got.rgba[4 * i + 2], got.rgba[4 * i + 3]]).toEqual([rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2], 255]);
    expect(Array.from(got.png.subarray(0, 8))).toEqual(PNG_MAGIC);
    expect(got.parameters).toMatchObject({ prompt: 'a red fox', seed: 7 });
    const stages = events.flatMap((e) => (e.kind === 'pipeline' ? [e.stage] : []));
    for (const s of ['load', 'encode', 'denoise', 'decode'] as const) expect(stages).toContain(s);
    expect(events.filter((e) => e.kind === 'pipeline' && e.stage === 'denoise').map((e) => (e.kind === 'pipeline' ? e.done : -1))).toEqual([1, 2]);
  });

  test('cancel: the worker stops at its next step, the promise rejects with the signal reason, nothing is reported after; a job queued behind it that is cancelled too never runs', async () => {
    const controller = new AbortController();
    const steps: number[] = [];
    const long = client.generate(
      { modelUrl: model, dtype: 'float32', prompt: 'snow', width: 32, height: 32, steps: 400, guidanceScale: 3, seed: 1 },
      {
        signal: controller.signal,
        onProgress: (e) => {
          if (e.kind !== 'pipeline' || e.stage !== 'denoise') return;
          steps.push(e.done);
          if (e.done === 2) controller.abort(new DOMException('stop', 'AbortError'));
        },
      },
    );
    const queued = new AbortController();
    const queuedEvents: SdxsProgress[] = [];
    const behind = client.upscale({ modelUrl: model, image: { width: 8, height: 8, channels: 3, data: image8(8, 8) } }, { signal: queued.signal, onProgress: (e) => queuedEvents.push(e) });
    queued.abort();
    const [a, b] = await Promise.allSettled([long, behind]);
    expect(a.status).toBe('rejected');
    expect((a as PromiseRejectedResult).reason).toBe(controller.signal.reason);
    expect(steps).toEqual([1, 2]);
    expect(b.status).toBe('rejected');
    expect(((b as PromiseRejectedResult).reason as Error).name).toBe('AbortError');
    expect(queuedEvents).toEqual([]);
    // the worker is free again
    expect((await client.useBackend('cpu')).name).toBe('cpu');
    // an already-aborted signal rejects at once
    const pre = new AbortController();
    pre.abort();
    await expect(client.upscale({ modelUrl: model, image: { width: 8, height: 8, channels: 3, data: image8(8, 8) } }, { signal: pre.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });

  test('a failure in the worker arrives as SdxsWorkerError with its name, message and code', async () => {
    const e = await client.upscale({ modelUrl: path.join(dir, 'missing'), image: { width: 8, height: 8, channels: 3, data: image8(8, 8) } }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SdxsWorkerError);
    expect((e as SdxsWorkerError).kind).toBe('error');
    expect((e as SdxsWorkerError).message).toMatch(/missing/);
    const bad = await client.upscale({ modelUrl: model, image: { width: 8, height: 8, channels: 3, data: new Uint8Array(5) } }).catch((x: unknown) => x);
    expect(bad).toBeInstanceOf(SdxsWorkerError);
    expect((bad as SdxsWorkerError).code).toBe(new C.InputError('x').code);
    expect((bad as SdxsWorkerError).message).toMatch(/needs 192/);
  });

  test('planarToRgba8 rounds and clamps like planarToRgb8', () => {
    const planar = Float32Array.from([0, 0.5, 1.2, -0.1, 0.25, 0.75]);
    const rgb = planarToRgb8(planar, 2, 1).data;
    expect(Array.from(planarToRgba8(planar, 2, 1))).toEqual([rgb[0], rgb[1], rgb[2], 255, rgb[3], rgb[4], rgb[5], 255]);
  });

  test('release frees the models; the next job loads them again', async () => {
    await client.release();
    const events: SdxsProgress[] = [];
    await client.upscale({ modelUrl: model, dtype: 'float32', image: { width: 8, height: 8, channels: 3, data: image8(8, 8) } }, { onProgress: (e) => events.push(e) });
    expect(events.some((e) => e.kind === 'load')).toBe(true);
  });
});
