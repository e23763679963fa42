import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SafetensorsError } from '../src/errors.js';
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
