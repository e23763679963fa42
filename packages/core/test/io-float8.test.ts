import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import * as C from '../src/index.js';

/**
 * A reference decoder written from the format definitions alone (sign, exponent bits, mantissa bits,
 * bias; subnormals at exponent 0), by arithmetic on numbers rather than bit moves. `special` gives the
 * value of the top-exponent patterns, which is where the two formats differ.
 */
function reference(b: number, expBits: number, mantBits: number, special: (mant: number, sign: number) => number | null): number {
  const sign = b >> 7 ? -1 : 1;
  const exp = (b >> mantBits) & ((1 << expBits) - 1);
  const mant = b & ((1 << mantBits) - 1);
  const bias = 2 ** (expBits - 1) - 1;
  if (exp === 2 ** expBits - 1) {
    const s = special(mant, sign);
    if (s !== null) return s;
  }
  if (exp === 0) return sign * 2 ** (1 - bias) * (mant / 2 ** mantBits);
  return sign * 2 ** (exp - bias) * (1 + mant / 2 ** mantBits);
}
// E4M3FN: no infinities; only mantissa 111 at the top exponent is NaN
const refE4M3 = (b: number): number => reference(b, 4, 3, (m) => (m === 7 ? Number.NaN : null));
// E5M2: IEEE-style top exponent: mantissa 0 is ±Inf, anything else NaN
const refE5M2 = (b: number): number => reference(b, 5, 2, (m, s) => (m === 0 ? s * Infinity : Number.NaN));

const same = (a: number, b: number): boolean => (Number.isNaN(a) && Number.isNaN(b)) || Object.is(a, b);

describe('float8 decoding (F8_E4M3, F8_E5M2)', () => {
  beforeAll(async () => {
    await C.setBackend('cpu');
  });

  test('every one of the 256 patterns of each format decodes to the value its definition gives, signed zeros and NaN included', () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const e4 = C.f8ToF32(bytes, 'F8_E4M3');
    const e5 = C.f8ToF32(bytes, 'F8_E5M2');
    const bad: string[] = [];
    for (let b = 0; b < 256; b++) {
      if (!same(e4[b]!, refE4M3(b)) || !same(C.f8e4m3ToNumber(b), refE4M3(b))) bad.push(`E4M3 0x${b.toString(16)}: ${e4[b]} != ${refE4M3(b)}`);
      if (!same(e5[b]!, refE5M2(b)) || !same(C.f8e5m2ToNumber(b), refE5M2(b))) bad.push(`E5M2 0x${b.toString(16)}: ${e5[b]} != ${refE5M2(b)}`);
    }
    expect(bad).toEqual([]);
  });

  test('landmark patterns: 0x30, the largest normal, the smallest subnormal, NaN and (E5M2 only) Inf', () => {
    // 0x30 = 0 0110 000 in E4M3 (2^(6-7)) and 0 01100 00 in E5M2 (2^(12-15)): not the integer 48
    expect(C.f8e4m3ToNumber(0x30)).toBe(2 ** -1);
    expect(C.f8e5m2ToNumber(0x30)).toBe(2 ** -3);
    expect(C.f8e4m3ToNumber(0x7e)).toBe(2 ** 8 * 1.75); // 448, E4M3's largest
    expect(C.f8e4m3ToNumber(0x01)).toBe(2 ** -9); // smallest subnormal, 1/8 · 2^-6
    expect(C.f8e4m3ToNumber(0x0f)).toBe(2 ** -6 * (1 + 7 / 8)); // exponent 1, mantissa 7
    expect(C.f8e4m3ToNumber(0x07)).toBe(2 ** -6 * (7 / 8)); // largest subnormal
    expect(Number.isNaN(C.f8e4m3ToNumber(0x7f)) && Number.isNaN(C.f8e4m3ToNumber(0xff))).toBe(true);
    expect(C.f8e4m3ToNumber(0x78)).toBe(256); // exponent 15 is a normal number in E4M3FN
    expect(C.f8e5m2ToNumber(0x7b)).toBe(2 ** 15 * 1.75); // 57344, E5M2's largest
    expect(C.f8e5m2ToNumber(0x01)).toBe(2 ** -16); // smallest subnormal, 1/4 · 2^-14
    expect(C.f8e5m2ToNumber(0x7c)).toBe(Infinity);
    expect(C.f8e5m2ToNumber(0xfc)).toBe(-Infinity);
    expect([0x7d, 0x7e, 0x7f, 0xfd].every((b) => Number.isNaN(C.f8e5m2ToNumber(b)))).toBe(true);
    expect(Object.is(C.f8e4m3ToNumber(0x80), -0) && Object.is(C.f8e5m2ToNumber(0x80), -0)).toBe(true);
  });

  test('a float8 tensor in a safetensors file reads as its values, not as the byte integers (readTensor, convertRaw, loadWeights)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sdxs-f8-'));
    const file = path.join(dir, 'w.safetensors');
    const bytes4 = Uint8Array.from([0x30, 0x38, 0xb0, 0x01, 0x7e, 0x00]);
    const bytes5 = Uint8Array.from([0x30, 0x3c, 0xb0, 0x01, 0x7b, 0x00]);
    await C.saveSafetensors(file, { e4: { dtype: 'F8_E4M3', shape: [2, 3], data: bytes4 }, e5: { dtype: 'F8_E5M2', shape: [2, 3], data: bytes5 } });
    const f = await C.loadSafetensors(file);
    try {
      const e4 = (await (await C.readTensor(f, 'e4')).data()) as Float32Array;
      const e5 = (await (await C.readTensor(f, 'e5')).data()) as Float32Array;
      expect([...e4]).toEqual([...bytes4].map(refE4M3));
      expect([...e5]).toEqual([...bytes5].map(refE5M2));
      // 16-bit storage of a float8 tensor keeps the decoded values (all exact in float16)
      const h = (await (await C.readTensor(f, 'e4', 'float16')).data()) as Uint16Array;
      expect([...C.f16ToF32(h)]).toEqual([...bytes4].map(refE4M3));
    } finally {
      await f.close();
    }
    class Lin extends C.Module {
      readonly lin = new C.nn.Linear(3, 2, false);
    }
    const m = new Lin();
    const wfile = path.join(dir, 'm.safetensors');
    await C.saveSafetensors(wfile, { 'lin.weight': { dtype: 'F8_E4M3', shape: [2, 3], data: bytes4 } });
    for (const dtype of ['float32', 'half'] as const) {
      const wf = await C.loadSafetensors(wfile);
      await C.loadWeights(m, wf, { dtype });
      await wf.close();
      const v = await m.lin.weight.value.data();
      const got = m.lin.weight.value.dtype === 'float32' ? [...(v as Float32Array)] : [...C.f16ToF32(v as Uint16Array)];
      expect(got).toEqual([...bytes4].map(refE4M3));
    }
  });

  test('integer and bool tensors where float weights are expected are a CheckpointError naming the file and tensor', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sdxs-int-'));
    const file = path.join(dir, 'w.safetensors');
    await C.saveSafetensors(file, {
      i32: { dtype: 'I32', shape: [2], data: Int32Array.from([1, 2]) },
      u8: { dtype: 'U8', shape: [2], data: Uint8Array.from([1, 2]) },
      b: { dtype: 'BOOL', shape: [2], data: Uint8Array.from([1, 0]) },
      i64: { dtype: 'I64', shape: [1], data: BigInt64Array.from([3n]) },
    });
    const f = await C.loadSafetensors(file);
    try {
      for (const name of ['i32', 'u8', 'b', 'i64']) {
        for (const dtype of ['float32', 'float16', 'bfloat16'] as const) {
          const err = await C.readTensor(f, name, dtype).then(() => null, (e: unknown) => e);
          expect(err).toBeInstanceOf(C.CheckpointError);
          expect((err as Error).message).toContain(file);
          expect((err as Error).message).toContain(`[${name}]`);
          expect((err as Error).message).toMatch(/integer|boolean/);
        }
      }
      // integer targets still read integer tensors
      expect([...((await (await C.readTensor(f, 'i32', 'int32')).data()) as Int32Array)]).toEqual([1, 2]);
    } finally {
      await f.close();
    }
    class Lin extends C.Module {
      readonly lin = new C.nn.Linear(2, 1, false);
    }
    const wfile = path.join(dir, 'm.safetensors');
    await C.saveSafetensors(wfile, { 'lin.weight': { dtype: 'I16', shape: [1, 2], data: Int16Array.from([3, 4]) } });
    const wf = await C.loadSafetensors(wfile);
    await expect(C.loadWeights(new Lin(), wf)).rejects.toThrow(/lin\.weight.*I16, an integer type/);
    await wf.close();
  });
});
