import { mkdtemp, open, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SafetensorsError } from '../src/errors.js';
import { f16ToF32, f32ToF16 } from '../src/io/half.js';
import { loadSafetensors, type SafetensorsFile } from '../src/io/safetensors.js';
import { SAFETENSORS_DTYPES, safetensorsArrayType, type SafetensorsDType } from '../src/io/safetensors-dtype.js';
import { saveSafetensors, serializeSafetensors, type SafetensorsTensorMap } from '../src/io/safetensors-write.js';

const FIXTURES = '/work/shared/fixtures';

async function findSafetensors(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await findSafetensors(p)));
    else if (e.name.endsWith('.safetensors')) out.push(p);
  }
  return out.sort();
}

function headerOf(bytes: Uint8Array): { len: number; json: Record<string, unknown> } {
  const len = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { len, json: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + len))) as Record<string, unknown> };
}

/** Header with a given JSON and data, length prefix computed (no padding). */
function rawFile(header: unknown, data: Uint8Array = new Uint8Array(0), lengthOverride?: bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

async function expectStError(p: Promise<unknown>, match: RegExp, tensor?: string): Promise<SafetensorsError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(SafetensorsError);
  const se = e as SafetensorsError;
  expect(se.message).toMatch(match);
  if (tensor !== undefined) expect(se.tensor).toBe(tensor);
  return se;
}

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'sdxs-st-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('fixtures', () => {
  it('loads every fixture safetensors file and reads all its tensors', async () => {
    const files = await findSafetensors(FIXTURES);
    expect(files.length).toBeGreaterThanOrEqual(10);
    for (const path of files) {
      const f = await loadSafetensors(path);
      try {
        expect(f.names().length).toBeGreaterThan(0);
        for (const name of f.names()) {
          const info = f.info(name);
          const arr = await f.readTyped(name);
          expect(arr).toBeInstanceOf(safetensorsArrayType(info.dtype));
          expect(arr.length).toBe(info.shape.reduce((a, b) => a * b, 1));
        }
      } finally {
        await f.close();
      }
    }
  });

  it('scheduler sigmas match the flow-matching shift stated in scheduler_config.json', async () => {
    const dir = join(FIXTURES, 'diffusers/scheduler-flow-shift5');
    const cfg = JSON.parse(await readFile(join(dir, 'scheduler_config.json'), 'utf8')) as { shift: number; num_train_timesteps: number };
    const f = await loadSafetensors(join(dir, 'io.safetensors'));
    const shift = (t: number): number => (cfg.shift * t) / (1 + (cfg.shift - 1) * t);
    const sigmaMin = shift(1 / cfg.num_train_timesteps);
    for (const n of [40, 20, 1]) {
      const sigmas = (await f.readTyped(`sigmas_${n}`)) as Float32Array;
      const timesteps = (await f.readTyped(`timesteps_${n}`)) as Float32Array;
      expect(f.info(`sigmas_${n}`)).toMatchObject({ dtype: 'F32', shape: [n + 1] });
      expect(sigmas[n]).toBe(0);
      for (let i = 0; i < n; i++) {
        const lin = n === 1 ? 1 : 1 + ((sigmaMin - 1) * i) / (n - 1);
        expect(sigmas[i]).toBeCloseTo(shift(lin), 5);
        expect(timesteps[i]).toBeCloseTo(sigmas[i]! * cfg.num_train_timesteps, 2);
      }
    }
    await f.close();
  });

  it('VAE and Qwen fixtures agree with their config.json and case.json', async () => {
    const vae = join(FIXTURES, 'diffusers/vae-tiny');
    const vcfg = JSON.parse(await readFile(join(vae, 'config.json'), 'utf8')) as { latent_channels: number; down_block_out_channels: number[]; in_channels: number };
    const io = await loadSafetensors(join(vae, 'io.safetensors'));
    const [, , h, w] = io.info('image').shape as [number, number, number, number];
    expect(io.info('latent').shape).toEqual([1, vcfg.latent_channels, h / 8, w / 8]);
    expect(io.info('decoded').shape).toEqual([1, 3, (h / 8) * 16, (w / 8) * 16]);
    const weights = await loadSafetensors(join(vae, 'diffusion_pytorch_model.safetensors'));
    expect(weights.metadata).toEqual({ format: 'pt' });
    expect(weights.info('encoder.conv_in.weight').shape).toEqual([vcfg.down_block_out_channels[0], vcfg.in_channels, 3, 3]);
    await Promise.all([io.close(), weights.close()]);

    const q = join(FIXTURES, 'qwen/qwen35-tiny-tied');
    const qcfg = JSON.parse(await readFile(join(q, 'config.json'), 'utf8')) as { vocab_size: number; hidden_size: number };
    const qcase = JSON.parse(await readFile(join(q, 'case.json'), 'utf8')) as { weights: { num_tensors: number } };
    const model = await loadSafetensors(join(q, 'model.safetensors'));
    expect(model.names().length).toBe(qcase.weights.num_tensors);
    expect(model.info('model.language_model.embed_tokens.weight').shape).toEqual([qcfg.vocab_size, qcfg.hidden_size]);
    const qio = await loadSafetensors(join(q, 'io.safetensors'));
    const ids = (await qio.readTyped('input_ids')) as BigInt64Array;
    expect(ids).toBeInstanceOf(BigInt64Array);
    for (const id of ids) expect(id >= 0n && id < BigInt(qcfg.vocab_size)).toBe(true);
    const mask = (await qio.readTyped('attention_mask')) as BigInt64Array;
    expect(new Set(Array.from(mask, Number))).toEqual(new Set([0, 1]));
    await Promise.all([model.close(), qio.close()]);
  });

  it('re-serialises every fixture byte for byte as the Python library wrote it', async () => {
    for (const path of await findSafetensors(FIXTURES)) {
      const original = new Uint8Array(await readFile(path));
      const f = await loadSafetensors(original, { name: path });
      const tensors: SafetensorsTensorMap = {};
      for (const name of f.names()) {
        const info = f.info(name);
        tensors[name] = { dtype: info.dtype, shape: info.shape, data: await f.readTyped(name) };
      }
      const again = serializeSafetensors(tensors, Object.keys(f.metadata).length ? f.metadata : undefined);
      expect(headerOf(again).len % 8).toBe(0);
      if (Buffer.compare(again, original) !== 0) throw new Error(`${path}: serialised bytes differ from the fixture`);
    }
  });
});

function sampleTensors(): SafetensorsTensorMap {
  const t: SafetensorsTensorMap = {};
  SAFETENSORS_DTYPES.forEach((dtype: SafetensorsDType, i) => {
    const Ctor = safetensorsArrayType(dtype);
    const n = 6;
    const data = new Ctor(n);
    for (let k = 0; k < n; k++) {
      if (data instanceof BigInt64Array || data instanceof BigUint64Array) data[k] = BigInt(k * 1000 + i) * (data instanceof BigInt64Array && k % 2 ? -1n : 1n);
      else data[k] = dtype === 'BOOL' ? k % 2 : (k - 2) * (dtype.startsWith('U') ? -1 : 1) * 3 + i;
    }
    t[`t_${dtype.toLowerCase()}`] = { dtype, shape: [2, 3], data };
  });
  t.f16_values = { dtype: 'F16', shape: [3], data: f32ToF16(new Float32Array([1.5, -2, 65504])) };
  t.scalar = { dtype: 'F32', shape: [], data: new Float32Array([42]) };
  t.empty = { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) };
  return t;
}

async function expectSame(f: SafetensorsFile, tensors: SafetensorsTensorMap): Promise<void> {
  expect(f.names().sort()).toEqual(Object.keys(tensors).sort());
  for (const [name, t] of Object.entries(tensors)) {
    expect(f.info(name)).toMatchObject({ dtype: t.dtype, shape: [...t.shape], byteLength: t.data.byteLength });
    const arr = await f.readTyped(name);
    expect(arr.constructor).toBe(t.data.constructor);
    expect(Array.from(arr as ArrayLike<number | bigint>)).toEqual(Array.from(t.data as ArrayLike<number | bigint>));
    const raw = await f.read(name);
    expect(raw.byteOffset).toBe(0);
    expect(Buffer.from(raw).equals(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength))).toBe(true);
  }
}

describe('writer and reader', () => {
  it('round-trips every dtype in memory, on disk, through a file: URL and an ArrayBuffer', async () => {
    const tensors = sampleTensors();
    const meta = { format: 'pt', note: 'ünïcode ✓' };
    const bytes = serializeSafetensors(tensors, meta);
    const { len, json } = headerOf(bytes);
    expect(len % 8).toBe(0);
    expect(Object.keys(json)[0]).toBe('__metadata__');
    // order: dtype rank (largest first), then name; data packed in that order
    const keys = Object.keys(json).slice(1);
    expect(keys.slice(0, 3)).toEqual(['t_u64', 't_i64', 't_f64']);
    let expectBegin = 0;
    for (const k of keys) {
      const off = (json[k] as { data_offsets: [number, number] }).data_offsets;
      expect(off[0]).toBe(expectBegin);
      expectBegin = off[1];
    }
    expect(bytes.length).toBe(8 + len + expectBegin);

    const mem = await loadSafetensors(bytes);
    expect(mem.metadata).toEqual(meta);
    await expectSame(mem, tensors);
    expect(Array.from(f16ToF32((await mem.readTyped('f16_values')) as Uint16Array))).toEqual([1.5, -2, 65504]);

    const path = join(tmp, 'all.safetensors');
    await saveSafetensors(path, tensors, meta);
    expect(Buffer.from(await readFile(path)).equals(Buffer.from(bytes))).toBe(true);
    expect((await readdir(tmp)).filter((n) => n.includes('.tmp-'))).toEqual([]);
    const disk = await loadSafetensors(path);
    await expectSame(disk, tensors);
    await disk.close();
    await expectStError(disk.read('scalar'), /closed/, 'scalar');

    const viaUrl = await loadSafetensors(pathToFileURL(path));
    await expectSame(viaUrl, tensors);
    await viaUrl.close();
    const ab = await loadSafetensors(bytes.slice().buffer);
    await expectSame(ab, tensors);
  });

  it('reads unaligned in-memory sources into aligned typed arrays', async () => {
    const bytes = serializeSafetensors({ x: { dtype: 'F64', shape: [2], data: new Float64Array([1.25, -3]) } });
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    const f = await loadSafetensors(shifted.subarray(3));
    expect(Array.from((await f.readTyped('x')) as Float64Array)).toEqual([1.25, -3]);
  });

  it('rejects bad tensors when writing', async () => {
    expect(() => serializeSafetensors({ a: { dtype: 'F32', shape: [3], data: new Float32Array(2) } })).toThrow(SafetensorsError);
    expect(() => serializeSafetensors({ a: { dtype: 'F32', shape: [2], data: new Int32Array(2) } })).toThrow(/Float32Array/);
    expect(() => serializeSafetensors({ a: { dtype: 'X' as SafetensorsDType, shape: [2], data: new Uint8Array(2) } })).toThrow(/unknown dtype/);
    expect(() => serializeSafetensors({ a: { dtype: 'U8', shape: [-2], data: new Uint8Array(2) } })).toThrow(/shape/);
    expect(() => serializeSafetensors({ __metadata__: { dtype: 'U8', shape: [1], data: new Uint8Array(1) } })).toThrow(/reserved/);
    // raw bytes are accepted for any dtype
    const ok = serializeSafetensors({ a: { dtype: 'BF16', shape: [2], data: new Uint8Array(4) } });
    expect((await loadSafetensors(ok)).info('a').dtype).toBe('BF16');
    await expect(saveSafetensors(join(tmp, 'no/such/dir/x.safetensors'), {})).rejects.toBeInstanceOf(SafetensorsError);
  });

  it('reads tensors past 4 GiB in a sparse file with positional reads', async () => {
    const far = 5 * 2 ** 30 + 12; // data offset beyond 2^32
    const header = { near: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, far: { dtype: 'F32', shape: [3], data_offsets: [far, far + 12] } };
    const head = rawFile(header, new Uint8Array(new Float32Array([7, 8]).buffer));
    const path = join(tmp, 'sparse.safetensors');
    const fh = await open(path, 'w');
    try {
      await fh.write(head, 0, head.length, 0);
      const dataStart = head.length - 8;
      await fh.write(new Uint8Array(new Float32Array([1.5, 2.5, -3]).buffer), 0, 12, dataStart + far);
    } finally {
      await fh.close();
    }
    expect((await stat(path)).size).toBe(head.length - 8 + far + 12);
    const f = await loadSafetensors(path);
    expect(Array.from((await f.readTyped('far')) as Float32Array)).toEqual([1.5, 2.5, -3]);
    expect(Array.from((await f.readTyped('near')) as Float32Array)).toEqual([7, 8]);
    await f.close();
    await rm(path);
  });
});

describe('validation', () => {
  const f32 = (n: number): Uint8Array => new Uint8Array(new Float32Array(n).buffer);
  const good = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  const cases: [string, Uint8Array, RegExp, string?][] = [
    ['shorter than 8 bytes', new Uint8Array(5), /shorter than the 8-byte/],
    ['header length past the end', rawFile(good, f32(2), 1000n), /runs past the end/],
    ['absurd header length', rawFile(good, f32(2), 2n ** 62n), /absurd/],
    ['header length 0', rawFile('', f32(0)), /too small/],
    ['invalid UTF-8', rawFile('{"\xff":1}', undefined).map((b, i) => (i === 10 ? 0xff : b)), /UTF-8/],
    ['not JSON', rawFile('{"a": [', f32(2)), /not valid JSON/],
    ['not an object', rawFile([1, 2], f32(2)), /not an object/],
    ['entry not an object', rawFile({ a: 3 }), /entry is not an object/, 'a'],
    ['missing dtype', rawFile({ a: { shape: [2], data_offsets: [0, 8] } }, f32(2)), /no dtype/, 'a'],
    ['missing shape', rawFile({ a: { dtype: 'F32', data_offsets: [0, 8] } }, f32(2)), /no shape/, 'a'],
    ['missing offsets', rawFile({ a: { dtype: 'F32', shape: [2] } }, f32(2)), /no data_offsets/, 'a'],
    ['unknown dtype', rawFile({ a: { dtype: 'F17', shape: [2], data_offsets: [0, 8] } }, f32(2)), /unknown dtype/, 'a'],
    ['negative shape', rawFile({ a: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, f32(2)), /shape/, 'a'],
    ['fractional shape', rawFile({ a: { dtype: 'F32', shape: [1.5], data_offsets: [0, 6] } }, f32(2)), /shape/, 'a'],
    ['string shape', rawFile({ a: { dtype: 'F32', shape: '2', data_offsets: [0, 8] } }, f32(2)), /shape/, 'a'],
    ['offsets not a pair', rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8, 9] } }, f32(2)), /data_offsets/, 'a'],
    ['negative offset', rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [-8, 0] } }, f32(2)), /data_offsets/, 'a'],
    ['end before begin', rawFile({ a: { dtype: 'F32', shape: [0], data_offsets: [8, 0] } }, f32(2)), /end before/, 'a'],
    ['offsets past the data', rawFile({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, f32(2)), /past the end of the data/, 'a'],
    ['size mismatch', rawFile({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, f32(2)), /needs 12/, 'a'],
    ['huge shape', rawFile({ a: { dtype: 'F64', shape: [2 ** 30, 2 ** 30, 2 ** 30], data_offsets: [0, 8] } }, f32(2)), /too large/, 'a'],
    [
      'overlap',
      rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, f32(3)),
      /overlap/,
      'b',
    ],
    ['metadata not strings', rawFile({ __metadata__: { n: 1 }, ...good }, f32(2)), /__metadata__/],
  ];
  for (const [what, bytes, match, tensor] of cases) {
    it(`rejects: ${what}`, async () => {
      const e = await expectStError(loadSafetensors(bytes, { name: 'bad.safetensors' }), match, tensor);
      expect(e.file).toBe('bad.safetensors');
      expect(e.message).toContain('bad.safetensors');
    });
  }

  it('accepts gaps and an uncovered tail in the data region, and zero-size tensors', async () => {
    const f = await loadSafetensors(
      rawFile({ a: { dtype: 'U8', shape: [2], data_offsets: [4, 6] }, z: { dtype: 'F32', shape: [0], data_offsets: [5, 5] } }, new Uint8Array([0, 0, 0, 0, 9, 8, 7, 7])),
    );
    expect(Array.from(await f.read('a'))).toEqual([9, 8]);
    expect((await f.readTyped('z')).length).toBe(0);
  });

  it('names the file for missing files and unknown tensors', async () => {
    const missing = join(tmp, 'missing.safetensors');
    const e = await expectStError(loadSafetensors(missing), /not found/);
    expect(e.file).toBe(missing);
    await expectStError(loadSafetensors(tmp), /directory/);
    const f = await loadSafetensors(serializeSafetensors({ a: { dtype: 'U8', shape: [1], data: new Uint8Array(1) } }));
    expect(() => f.info('nope')).toThrow(SafetensorsError);
    await expectStError(f.read('nope'), /no such tensor/, 'nope');
  });

  it('reports a file truncated after its header was written', async () => {
    const bytes = serializeSafetensors({ a: { dtype: 'F32', shape: [4], data: new Float32Array(4) } });
    const path = join(tmp, 'trunc.safetensors');
    await writeFile(path, bytes.subarray(0, bytes.length - 3));
    await expectStError(loadSafetensors(path), /past the end of the data/, 'a');
  });
});
