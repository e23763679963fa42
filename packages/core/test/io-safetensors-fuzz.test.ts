import { describe, expect, it } from 'vitest';
import { SafetensorsError } from '../src/errors.js';
import { loadSafetensors } from '../src/io/safetensors.js';
import { serializeSafetensors } from '../src/io/safetensors-write.js';
import { mulberry32 } from './helpers/prng.js';

const base = serializeSafetensors(
  {
    w: { dtype: 'F32', shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) },
    h: { dtype: 'F16', shape: [4], data: new Uint16Array([0x3c00, 1, 2, 3]) },
    i: { dtype: 'I64', shape: [2], data: new BigInt64Array([5n, -6n]) },
    b: { dtype: 'BOOL', shape: [3], data: new Uint8Array([1, 0, 1]) },
    e: { dtype: 'F32', shape: [0], data: new Float32Array(0) },
  },
  { format: 'pt' },
);
const headerLen = Number(new DataView(base.buffer).getBigUint64(0, true));
const header = JSON.parse(new TextDecoder().decode(base.subarray(8, 8 + headerLen))) as Record<string, Record<string, unknown>>;
const data = base.subarray(8 + headerLen);

function withHeader(h: unknown, lenDelta = 0, dataPart: Uint8Array = data): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(h));
  const out = new Uint8Array(8 + json.length + dataPart.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(Math.max(0, json.length + lenDelta)), true);
  out.set(json, 8);
  out.set(dataPart, 8 + json.length);
  return out;
}

function mutate(rand: () => number): Uint8Array {
  const int = (n: number): number => Math.floor(rand() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const weird: unknown[] = [-1, 0, 1, 2, 7, 8, 1.5, 2 ** 53, 2 ** 64, -0, '8', null, true, [], {}, NaN, 1e308, data.length, data.length + 1];
  switch (int(7)) {
    case 0: {
      // byte flips anywhere
      const b = base.slice();
      for (let k = 1 + int(4); k > 0; k--) b[int(b.length)]! ^= 1 << int(8);
      return b;
    }
    case 1: {
      // byte flips inside the header only
      const b = base.slice();
      for (let k = 1 + int(3); k > 0; k--) b[8 + int(headerLen)] = int(256);
      return b;
    }
    case 2:
      return base.slice(0, int(base.length));
    case 3: {
      const b = base.slice();
      const dv = new DataView(b.buffer);
      const choice = int(4);
      if (choice === 0) dv.setBigUint64(0, BigInt(headerLen + int(17) - 8), true);
      else if (choice === 1) dv.setBigUint64(0, BigInt(int(2 ** 31)) * BigInt(1 + int(2 ** 20)), true);
      else if (choice === 2) b[int(8)] = int(256);
      else dv.setBigUint64(0, 2n ** 64n - 1n - BigInt(int(1000)), true);
      return b;
    }
    case 4: {
      // JSON edit of one field of one tensor
      const h = structuredClone(header);
      const names = Object.keys(h).filter((n) => n !== '__metadata__');
      const t = h[pick(names)]!;
      const field = pick(['dtype', 'shape', 'data_offsets', 'delete']);
      if (field === 'dtype') t.dtype = pick(['F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'I16', 'I8', 'U64', 'U32', 'U16', 'U8', 'BOOL', 'F8_E4M3', 'F8_E5M2', 'f32', '', 7]);
      else if (field === 'shape') {
        const s = (t.shape as unknown[]).slice();
        if (s.length && rand() < 0.6) s[int(s.length)] = pick(weird);
        else if (rand() < 0.5) s.push(pick(weird));
        else s.pop();
        t.shape = rand() < 0.1 ? pick(weird) : s;
      } else if (field === 'data_offsets') {
        const o = (t.data_offsets as unknown[]).slice();
        if (rand() < 0.7) o[int(2)] = rand() < 0.5 ? pick(weird) : (o[int(2)] as number) + int(9) - 4;
        else if (rand() < 0.5) o.reverse();
        else o.push(4);
        t.data_offsets = rand() < 0.1 ? pick(weird) : o;
      } else delete t[pick(['dtype', 'shape', 'data_offsets'])];
      return withHeader(h, rand() < 0.2 ? int(9) - 4 : 0);
    }
    case 5: {
      // structural JSON edits
      const h: Record<string, unknown> = structuredClone(header);
      const k = int(5);
      if (k === 0) h.__metadata__ = pick([{ a: 1 }, 'x', null, [], { a: 'b' }]);
      else if (k === 1) h[`x${int(100)}`] = pick([3, null, 'y', { dtype: 'U8', shape: [1], data_offsets: [int(60), int(60)] }]);
      else if (k === 2) h.w = h[pick(Object.keys(h))];
      else if (k === 3) return withHeader(pick([[], 'str', 5, null, { a: [1] }]));
      else return withHeader(h, 0, data.subarray(0, int(data.length + 1)));
      return withHeader(h);
    }
    default: {
      // raw text corruption of the JSON
      const text = new TextDecoder().decode(base.subarray(8, 8 + headerLen));
      const at = int(text.length);
      const edited = text.slice(0, at) + pick(['', '"', '}', ',', '\\', '-', '9', '\u0000', 'é', '\ud800']) + text.slice(at + int(3));
      const json = new TextEncoder().encode(edited);
      const out = new Uint8Array(8 + json.length + data.length);
      new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
      out.set(json, 8);
      out.set(data, 8 + json.length);
      return out;
    }
  }
}

describe('safetensors fuzz', () => {
  it('3000 mutated files either load and read fully or throw SafetensorsError', async () => {
    const rand = mulberry32(0x5d75);
    let loaded = 0;
    let rejected = 0;
    const t0 = performance.now();
    for (let iter = 0; iter < 3000; iter++) {
      const bytes = mutate(rand);
      try {
        const f = await loadSafetensors(bytes, { name: `fuzz#${iter}` });
        for (const name of f.names()) {
          const info = f.info(name);
          const arr = await f.readTyped(name);
          expect(arr.length).toBe(info.shape.reduce((a, b) => a * b, 1));
          expect(arr.byteLength).toBe(info.byteLength);
          expect(info.dataOffsets[1]).toBeLessThanOrEqual(bytes.length - 8);
        }
        await f.close();
        loaded++;
      } catch (e) {
        if (!(e instanceof SafetensorsError)) throw new Error(`mutation #${iter} threw ${String(e)}`, { cause: e });
        expect(e.file).toBe(`fuzz#${iter}`);
        rejected++;
      }
    }
    expect(loaded).toBeGreaterThan(100);
    expect(rejected).toBeGreaterThan(1000);
    expect(performance.now() - t0).toBeLessThan(10_000);
  });
});

describe('hostile safetensors headers', () => {
  const raw = (json: string): Uint8Array => {
    const bytes = new TextEncoder().encode(json);
    const out = new Uint8Array(8 + bytes.length + data.length);
    new DataView(out.buffer).setBigUint64(0, BigInt(bytes.length), true);
    out.set(bytes, 8);
    out.set(data, 8 + bytes.length);
    return out;
  };
  const rejection = async (bytes: Uint8Array): Promise<SafetensorsError> => {
    const e = await loadSafetensors(bytes, { name: 'hostile' }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(SafetensorsError);
    return e as SafetensorsError;
  };
  const deep = (d: number): string => `${'['.repeat(d)}${']'.repeat(d)}`;

  it.each([
    ['a shape nested 100000 levels deep', `{"t":{"dtype":"F32","shape":${deep(100_000)},"data_offsets":[0,4]}}`],
    ['deep data_offsets', `{"t":{"dtype":"F32","shape":[1],"data_offsets":${deep(100_000)}}}`],
    ['a deep dtype', `{"t":{"dtype":${deep(100_000)},"shape":[1],"data_offsets":[0,4]}}`],
    ['deep metadata', `{"__metadata__":{"k":${deep(100_000)}}}`],
    ['a 1 MB tensor name', `{"${'n'.repeat(1_000_000)}":{"dtype":"X","shape":[1],"data_offsets":[0,4]}}`],
    ['a 1 MB dtype', `{"t":{"dtype":"${'d'.repeat(1_000_000)}","shape":[1],"data_offsets":[0,4]}}`],
    ['a 1 MB shape', `{"t":{"dtype":"F32","shape":[${new Array(300_000).fill('-1').join(',')}],"data_offsets":[0,4]}}`],
  ])('%s gives a SafetensorsError with a bounded message', async (_, json) => {
    const e = await rejection(raw(json));
    expect(e.message.length).toBeLessThanOrEqual(2000);
  });
});
