import { describe, expect, it } from 'vitest';
import {
  bf16ToF32,
  f16BitsToF32Bits,
  f16ToF32,
  f16ToNumber,
  f32BitsToBf16Bits,
  f32BitsToF16Bits,
  f32ToBf16,
  f32ToF16,
  numberToBf16,
  numberToF16,
} from '../src/io/half.js';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const bitsToF32 = (b: number): number => {
  u32[0] = b >>> 0;
  return f32[0]!;
};

/** Independent reference for float16 decoding: sign * 2^(e-15) * (1 + m/1024), or m * 2^-24 when e = 0. */
function refF16(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0x1f) return m === 0 ? s * Infinity : NaN;
  if (e === 0) return s * m * 2 ** -24;
  return s * 2 ** (e - 15) * (1 + m / 1024);
}

describe('float16', () => {
  it('decodes all 65536 bit patterns exactly and round-trips 16 -> 32 -> 16 bit-exactly', () => {
    const all = new Uint16Array(65536);
    for (let i = 0; i < 65536; i++) all[i] = i;
    const wide = f16ToF32(all);
    const wideBits = new Uint32Array(wide.buffer);
    for (let h = 0; h < 65536; h++) {
      const ref = refF16(h);
      if (Number.isNaN(ref)) {
        expect(Number.isNaN(wide[h])).toBe(true);
        expect(wideBits[h]! >>> 31).toBe(h >>> 15);
      } else if (wide[h] !== ref || Object.is(ref, -0) !== Object.is(wide[h], -0)) {
        throw new Error(`f16 0x${h.toString(16)} decoded to ${wide[h]}, expected ${ref}`);
      }
      expect(f16BitsToF32Bits(h)).toBe(wideBits[h]);
    }
    const back = f32ToF16(wide);
    for (let h = 0; h < 65536; h++) if (back[h] !== h) throw new Error(`round trip 0x${h.toString(16)} -> 0x${back[h]!.toString(16)}`);
  });

  it('rounds every midpoint between adjacent float16 values to even, and its neighbours to the nearer value', () => {
    for (let h = 0; h < 0x7c00; h++) {
      const a = refF16(h);
      const b = h + 1 === 0x7c00 ? 65536 : refF16(h + 1); // the value past the largest finite one rounds to Inf
      const mid = (a + b) / 2;
      expect(Math.fround(mid)).toBe(mid);
      f32[0] = mid;
      const mb = u32[0]!;
      const even = (h & 1) === 0 ? h : h + 1;
      for (const sign of [0, 0x80000000]) {
        const s16 = sign ? 0x8000 : 0;
        if (f32BitsToF16Bits(mb | sign) !== (even | s16)) throw new Error(`tie at ${mid} -> 0x${f32BitsToF16Bits(mb).toString(16)}`);
        if (f32BitsToF16Bits((mb + 1) | sign) !== ((h + 1) | s16)) throw new Error(`above tie at ${mid}`);
        if (f32BitsToF16Bits((mb - 1) | sign) !== (h | s16)) throw new Error(`below tie at ${mid}`);
      }
    }
  });

  it('handles overflow, underflow, zeros, infinities and NaN', () => {
    expect(numberToF16(65504)).toBe(0x7bff);
    expect(numberToF16(65519.99)).toBe(0x7bff);
    expect(numberToF16(65520)).toBe(0x7c00);
    expect(numberToF16(1e10)).toBe(0x7c00);
    expect(numberToF16(-1e10)).toBe(0xfc00);
    expect(numberToF16(Infinity)).toBe(0x7c00);
    expect(numberToF16(-Infinity)).toBe(0xfc00);
    expect(numberToF16(2 ** -25)).toBe(0); // tie to even (zero)
    expect(numberToF16(-(2 ** -25))).toBe(0x8000);
    expect(numberToF16(2 ** -25 * 1.0000001)).toBe(1);
    expect(numberToF16(3 * 2 ** -25)).toBe(2); // tie between 1 and 2 subnormal units -> even
    expect(numberToF16(1e-30)).toBe(0);
    expect(numberToF16(-0)).toBe(0x8000);
    expect(numberToF16(2 ** -14 - 2 ** -25)).toBe(0x0400); // carry from subnormal into the smallest normal
    expect(f16ToNumber(0x3c00)).toBe(1);
    expect(f16ToNumber(0x3555)).toBeCloseTo(1 / 3, 3);
    // NaN: stays NaN, sign kept, payload that truncates to zero becomes quiet
    expect(f32BitsToF16Bits(0x7f800001)).toBe(0x7e00);
    expect(f32BitsToF16Bits(0xff800001)).toBe(0xfe00);
    expect(f32BitsToF16Bits(0x7fc00000)).toBe(0x7e00);
    expect(f32BitsToF16Bits(0x7f802000)).toBe(0x7c01);
    expect(Number.isNaN(f16ToNumber(0x7c01))).toBe(true);
  });

  it('keeps the output array argument and rejects a wrong length', () => {
    const out = new Uint16Array(2);
    expect(f32ToF16(new Float32Array([1, 2]), out)).toBe(out);
    expect(Array.from(out)).toEqual([0x3c00, 0x4000]);
    expect(() => f32ToF16(new Float32Array(3), out)).toThrow(RangeError);
  });

  it('works on subarray views (byteOffset != 0)', () => {
    const base = new Float32Array([9, 1, 2, 9]);
    const half = f32ToF16(base.subarray(1, 3));
    expect(Array.from(half)).toEqual([0x3c00, 0x4000]);
    const src = new Uint16Array([0, 0x3c00, 0x4000]);
    expect(Array.from(f16ToF32(src.subarray(1)))).toEqual([1, 2]);
  });
});

describe('bfloat16', () => {
  it('round-trips all 65536 bit patterns bit-exactly and decodes as the top half of float32', () => {
    const all = new Uint16Array(65536);
    for (let i = 0; i < 65536; i++) all[i] = i;
    const wide = bf16ToF32(all);
    const wideBits = new Uint32Array(wide.buffer);
    for (let h = 0; h < 65536; h++) if (wideBits[h] !== ((h << 16) >>> 0)) throw new Error(`bf16 0x${h.toString(16)}`);
    const back = f32ToBf16(wide);
    for (let h = 0; h < 65536; h++) if (back[h] !== h) throw new Error(`round trip 0x${h.toString(16)} -> 0x${back[h]!.toString(16)}`);
  });

  it('rounds every midpoint between adjacent bfloat16 values to even', () => {
    for (let h = 0; h < 0x7f80; h++) {
      const a = bitsToF32(h << 16);
      const b = h + 1 === 0x7f80 ? 2 ** 128 : bitsToF32((h + 1) << 16);
      const mid = (a + b) / 2;
      expect(Math.fround(mid)).toBe(mid);
      const mb = (h << 16) | 0x8000; // the midpoint's bits
      const even = (h & 1) === 0 ? h : h + 1;
      for (const sign of [0, 0x80000000]) {
        const s16 = sign ? 0x8000 : 0;
        if (f32BitsToBf16Bits((mb | sign) >>> 0) !== (even | s16)) throw new Error(`tie at 0x${h.toString(16)}`);
        if (f32BitsToBf16Bits(((mb + 1) | sign) >>> 0) !== ((h + 1) | s16)) throw new Error(`above tie at 0x${h.toString(16)}`);
        if (f32BitsToBf16Bits(((mb - 1) | sign) >>> 0) !== (h | s16)) throw new Error(`below tie at 0x${h.toString(16)}`);
      }
    }
  });

  it('handles overflow, infinities and NaN', () => {
    expect(numberToBf16(1)).toBe(0x3f80);
    expect(numberToBf16(3.4028234663852886e38)).toBe(0x7f80); // f32 max rounds up to Inf in bf16
    expect(numberToBf16(-Infinity)).toBe(0xff80);
    expect(numberToBf16(-0)).toBe(0x8000);
    expect(f32BitsToBf16Bits(0x7f800001)).toBe(0x7fc0);
    expect(f32BitsToBf16Bits(0xff800001)).toBe(0xffc0);
    expect(f32BitsToBf16Bits(0x7fffffff)).toBe(0x7fff); // NaN never rounds into the sign bit
    expect(f32BitsToBf16Bits(0x7f810000)).toBe(0x7f81);
  });
});
