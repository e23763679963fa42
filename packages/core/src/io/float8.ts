/**
 * The two 8-bit float formats of safetensors (the OCP FP8 formats, as torch's float8_e4m3fn and
 * float8_e5m2), decoded exactly to float32:
 *
 * - F8_E4M3 (E4M3FN): sign, 4 exponent bits (bias 7), 3 mantissa bits. No infinities: S.1111.111 is NaN,
 *   every other pattern with exponent 15 is a normal number (max 448). Exponent 0 is subnormal: m/8 · 2^-6.
 * - F8_E5M2: sign, 5 exponent bits (bias 15), 2 mantissa bits, IEEE rules: exponent 31 is ±Inf (mantissa 0)
 *   or NaN, exponent 0 subnormal (m/4 · 2^-14). It is the upper byte of a float16.
 *
 * Every value of both formats is a float32 value, so decoding is a 256-entry table per format.
 */
import { f16BitsToF32Bits } from './half.js';

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** float8 E4M3FN bits -> float32 bits. */
export function f8e4m3BitsToF32Bits(b: number): number {
  const sign = (b & 0x80) << 24;
  const exp = (b >>> 3) & 0xf;
  const mant = b & 0x7;
  if (exp === 0xf && mant === 0x7) return (sign | 0x7fc00000) >>> 0; // the only NaN (no infinities)
  if (exp !== 0) return (sign | ((exp - 7 + 127) << 23) | (mant << 20)) >>> 0;
  if (mant === 0) return sign >>> 0;
  // subnormal m/8 · 2^-6: normalise the mantissa
  let e = -6;
  let m = mant;
  while ((m & 0x8) === 0) {
    m <<= 1;
    e--;
  }
  return (sign | ((e + 127) << 23) | ((m & 0x7) << 20)) >>> 0;
}

/** float8 E5M2 bits -> float32 bits (the byte is the upper half of a float16). */
export function f8e5m2BitsToF32Bits(b: number): number {
  return f16BitsToF32Bits((b & 0xff) << 8);
}

function buildTable(decode: (b: number) => number): Uint32Array {
  const t = new Uint32Array(256);
  for (let b = 0; b < 256; b++) t[b] = decode(b);
  return t;
}

let e4m3Table: Uint32Array | undefined;
let e5m2Table: Uint32Array | undefined;

/** float8 E4M3FN byte -> JavaScript number (exact). */
export function f8e4m3ToNumber(b: number): number {
  scratchU32[0] = f8e4m3BitsToF32Bits(b);
  return scratchF32[0]!;
}
/** float8 E5M2 byte -> JavaScript number (exact). */
export function f8e5m2ToNumber(b: number): number {
  scratchU32[0] = f8e5m2BitsToF32Bits(b);
  return scratchF32[0]!;
}

/** float8 bytes of either format -> Float32Array (exact). */
export function f8ToF32(src: Uint8Array, format: 'F8_E4M3' | 'F8_E5M2'): Float32Array {
  const table = format === 'F8_E4M3' ? (e4m3Table ??= buildTable(f8e4m3BitsToF32Bits)) : (e5m2Table ??= buildTable(f8e5m2BitsToF32Bits));
  const dst = new Float32Array(src.length);
  const bits = new Uint32Array(dst.buffer);
  for (let i = 0; i < src.length; i++) bits[i] = table[src[i]!]!;
  return dst;
}
