import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SafetensorsError } from '../src/errors.js';
import { httpSource } from '../src/io/byte-source.js';
import { loadSafetensors } from '../src/io/safetensors.js';
import { loadSafetensorsIndex, openCheckpoint } from '../src/io/safetensors-index.js';
import { saveSafetensors, serializeSafetensors } from '../src/io/safetensors-write.js';
import { startRangeServer, type RangeServer, type ServedFile } from './helpers/range-server.js';

const VAE = '/work/shared/fixtures/diffusers/vae-tiny/diffusion_pytorch_model.safetensors';

let server: RangeServer;
let vaeBytes: Uint8Array;
let tmp: string;
const files = new Map<string, ServedFile>();

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'sdxs-remote-'));
  vaeBytes = new Uint8Array(await readFile(VAE));
  files.set('/vae.safetensors', { body: vaeBytes });
  files.set('/norange/vae.safetensors', { body: vaeBytes, ignoreRange: true });
  files.set('/short.safetensors', { body: vaeBytes.subarray(0, 5) });
  const a = serializeSafetensors({ x: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) } });
  const b = serializeSafetensors({ y: { dtype: 'I32', shape: [1], data: new Int32Array([-7]) } });
  files.set('/sharded/m-00001-of-00002.safetensors', { body: a });
  files.set('/sharded/m-00002-of-00002.safetensors', { body: b });
  const index = { metadata: { total_size: 12 }, weight_map: { x: 'm-00001-of-00002.safetensors', y: 'm-00002-of-00002.safetensors' } };
  files.set('/sharded/m.safetensors.index.json', { body: new TextEncoder().encode(JSON.stringify(index)) });
  server = await startRangeServer(files);
});
afterAll(async () => {
  await server.close();
  await rm(tmp, { recursive: true, force: true });
});

describe('safetensors over HTTP', () => {
  it('reads the header with two range requests and each tensor with one', async () => {
    const local = await loadSafetensors(VAE);
    server.requests.length = 0;
    const f = await loadSafetensors(`${server.url}/vae.safetensors`);
    expect(server.requests.map((r) => r.range)).toEqual(['bytes=0-7', `bytes=8-${8 + 29384 - 1}`]);
    expect(f.names()).toEqual(local.names());
    const name = 'encoder.conv_in.weight';
    expect(Array.from((await f.readTyped(name)) as Float32Array)).toEqual(Array.from((await local.readTyped(name)) as Float32Array));
    expect(server.requests).toHaveLength(3);
    await Promise.all([f.close(), local.close()]);
  });

  it('works with a server that ignores Range', async () => {
    const f = await loadSafetensors(new URL(`${server.url}/norange/vae.safetensors`));
    const local = await loadSafetensors(vaeBytes);
    for (const name of f.names().slice(0, 5)) {
      expect(Buffer.from(await f.read(name)).equals(Buffer.from(await local.read(name)))).toBe(true);
    }
  });

  it('gives SafetensorsError for 404, short files and refused connections', async () => {
    await expect(loadSafetensors(`${server.url}/missing.safetensors`)).rejects.toThrow(/HTTP 404/);
    await expect(loadSafetensors(`${server.url}/short.safetensors`)).rejects.toBeInstanceOf(SafetensorsError);
    await expect(loadSafetensors('http://127.0.0.1:1/x.safetensors')).rejects.toBeInstanceOf(SafetensorsError);
  });

  it('opens a sharded checkpoint by URL through openCheckpoint', async () => {
    const f = await openCheckpoint(`${server.url}/sharded`, 'm');
    expect(f.names()).toEqual(['x', 'y']);
    expect(f.metadata).toEqual({ total_size: '12' });
    expect(Array.from((await f.readTyped('x')) as Float32Array)).toEqual([1, 2]);
    expect(Array.from((await f.readTyped('y')) as Int32Array)).toEqual([-7]);
    expect(f.info('y')).toMatchObject({ dtype: 'I32', shape: [1] });
    await expect(f.read('z')).rejects.toThrow(/no such tensor/);
    await f.close();
  });
});

describe('sharded checkpoints on disk', () => {
  it('loads an index, prefers the single file in openCheckpoint, and names missing pieces', async () => {
    const dir = join(tmp, 'ckpt');
    await mkdir(dir);
    await saveSafetensors(join(dir, 'model-1.safetensors'), { a: { dtype: 'F32', shape: [1], data: new Float32Array([3]) } });
    await saveSafetensors(join(dir, 'model-2.safetensors'), { b: { dtype: 'U8', shape: [2], data: new Uint8Array([4, 5]) } });
    const index = join(dir, 'model.safetensors.index.json');
    await writeFile(index, JSON.stringify({ weight_map: { a: 'model-1.safetensors', b: 'model-2.safetensors' } }));
    const viaIndex = await openCheckpoint(dir, 'model');
    expect(viaIndex.file).toBe(index);
    expect(Array.from(await viaIndex.read('b'))).toEqual([4, 5]);
    await viaIndex.close();

    await saveSafetensors(join(dir, 'model.safetensors'), { c: { dtype: 'F32', shape: [1], data: new Float32Array([9]) } });
    const single = await openCheckpoint(`${dir}/`, 'model');
    expect(single.names()).toEqual(['c']);
    await single.close();

    const e = await openCheckpoint(dir, 'nothing').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SafetensorsError);
    expect(String(e)).toMatch(/nothing\.safetensors'.*nothing\.safetensors\.index\.json/);

    const bad = join(dir, 'bad.safetensors.index.json');
    await writeFile(bad, JSON.stringify({ weight_map: { a: 'model-2.safetensors' } }));
    await expect(loadSafetensorsIndex(bad)).rejects.toMatchObject({ tensor: 'a', message: expect.stringMatching(/does not hold/) });
    await writeFile(bad, JSON.stringify({ weight_map: { a: 'missing.safetensors' } }));
    await expect(loadSafetensorsIndex(bad)).rejects.toThrow(/missing\.safetensors: file not found/);
    await writeFile(bad, JSON.stringify({ weight_map: { a: '../x.safetensors' } }));
    await expect(loadSafetensorsIndex(bad)).rejects.toThrow(/relative shard/);
    await writeFile(bad, '{"weight_map": ');
    await expect(loadSafetensorsIndex(bad)).rejects.toThrow(/not valid JSON/);
    await writeFile(bad, '{}');
    await expect(loadSafetensorsIndex(bad)).rejects.toThrow(/weight_map/);
    await expect(loadSafetensorsIndex(join(dir, 'none.json'))).rejects.toThrow(/index file not found/);
  });
});

describe('hostile HTTP servers', () => {
  /** A fetch whose body streams `total` bytes of 7s in 64 KiB chunks; `pulled` counts what was read from it. */
  function flood(status: number, total: number, headers: (range: string) => Record<string, string>): { fetch: typeof fetch; pulled: () => number } {
    let pulled = 0;
    const f = (async (_url: string | URL | Request, init?: RequestInit) => {
      const range = new Headers(init?.headers).get('range') ?? '';
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(c) {
          if (sent >= total) return c.close();
          const n = Math.min(65536, total - sent);
          sent += n;
          pulled += n;
          c.enqueue(new Uint8Array(n).fill(7));
        },
      });
      return new Response(body, { status, headers: headers(range) });
    }) as typeof fetch;
    return { fetch: f, pulled: () => pulled };
  }
  const GiB = 2 ** 30;

  it('a 206 reply streaming far more than the 8 bytes asked is refused after one chunk', async () => {
    const s = flood(206, 600 * 2 ** 20, () => ({ 'content-range': 'bytes 0-7/100' }));
    const src = await httpSource('http://x/a', { fetch: s.fetch });
    await expect(src.read(0, 8)).rejects.toThrow(/more than the 8 bytes|mismatched/);
    expect(s.pulled()).toBeLessThan(2 ** 20);
  });

  it('a 206 reply whose Content-Range or Content-Length does not match the request is refused', async () => {
    const wide = flood(206, 16, () => ({ 'content-range': 'bytes 0-15/100' }));
    await expect((await httpSource('http://x/a', { fetch: wide.fetch })).read(0, 8)).rejects.toThrow(SafetensorsError);
    const lying = flood(206, 16, () => ({ 'content-range': 'bytes 0-7/100', 'content-length': '16' }));
    await expect((await httpSource('http://x/a', { fetch: lying.fetch })).read(0, 8)).rejects.toThrow(/Content-Length 16/);
  });

  it('a server ignoring Range is read only up to the end of the range, and a claimed 4 GB tensor allocates nothing up front', async () => {
    const s = flood(200, 64 * 2 ** 20, () => ({}));
    const src = await httpSource('http://x/a', { fetch: s.fetch });
    const got = await src.read(100, 8);
    expect([...got]).toEqual(new Array(8).fill(7));
    expect(s.pulled()).toBeLessThanOrEqual(2 * 65536);
    const before = process.memoryUsage().arrayBuffers;
    const short = flood(200, 2 ** 20, () => ({}));
    await expect((await httpSource('http://x/a', { fetch: short.fetch })).read(0, 4 * GiB)).rejects.toThrow(/truncated/);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(256 * 2 ** 20);
    const sized = flood(200, 2 ** 20, () => ({ 'content-length': String(2 ** 20) }));
    await expect((await httpSource('http://x/a', { fetch: sized.fetch })).read(0, 4 * GiB)).rejects.toThrow(/truncated/);
    expect(sized.pulled()).toBeLessThanOrEqual(65536);
  });
});
