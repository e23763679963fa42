/**
 * Exact conversions between IEEE binary16 (float16), bfloat16 and float32, on raw bit patterns.
 *
 * - float32 -> 16-bit: round to nearest, ties to even; overflow gives ±Inf; values below half the
 *   smallest subnormal give ±0; subnormals are produced exactly.
 * - 16-bit -> float32: exact (every float16 and bfloat16 value is a float32 value).
 * - NaN stays NaN with its sign. The top payload bits are kept; when truncating a float32 NaN payload
 *   would leave zero (which would read as Inf) the quiet bit is set instead. So 16 -> 32 -> 16 is the
 *   identity on all 65536 bit patterns, NaNs included; 32 -> 16 -> 32 drops the low payload bits of NaNs.
 *
 * The array functions never go through a JavaScript number for the float32 side (they read and write
 * the float32 bit patterns through a Uint32Array view), so NaN payloads are not canonicalised by the
 * engine.
 */

let f16ToF32Table: Uint32Array | undefined;

/** float16 bits -> float32 bits. */
export function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  // subnormal: normalise the mantissa
  let e = 1;
  let m = mant;
  while ((m & 0x400) === 0) {
    m <<= 1;
    e--;
  }
  return (sign | ((e + 112) << 23) | ((m & 0x3ff) << 13)) >>> 0;
}

/** float32 bits -> float16 bits, round to nearest even. */
export function f32BitsToF16Bits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) {
    if (mant === 0) return sign | 0x7c00;
    const payload = mant >>> 13;
    return sign | 0x7c00 | (payload === 0 ? 0x200 : payload);
  }
  const e = exp - 112; // rebias 127 -> 15
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below 2^-25: rounds to zero
    const m = mant | 0x800000;
    const shift = 14 - e; // 14..24
    let h = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (h & 1) === 1)) h++;
    return sign | h; // a carry out of the subnormal range lands on the smallest normal, as it should
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++; // a carry may reach Inf, as it should
  return sign | h;
}

/** bfloat16 bits -> float32 bits. */
export function bf16BitsToF32Bits(h: number): number {
  return ((h & 0xffff) << 16) >>> 0;
}

/** float32 bits -> bfloat16 bits, round to nearest even. */
export function f32BitsToBf16Bits(x: number): number {
  x >>>= 0;
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) {
    const top = x >>> 16;
    return (top & 0x7f) === 0 ? top | 0x40 : top;
  }
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** float16 bits -> JavaScript number (exact). */
export function f16ToNumber(h: number): number {
  scratchU32[0] = f16BitsToF32Bits(h);
  return scratchF32[0]!;
}
/** bfloat16 bits -> JavaScript number (exact). */
export function bf16ToNumber(h: number): number {
  scratchU32[0] = bf16BitsToF32Bits(h);
  return scratchF32[0]!;
}
/** Number -> float16 bits. The number is first rounded to float32 (Math.fround), then to float16. */
export function numberToF16(x: number): number {
  scratchF32[0] = x;
  return f32BitsToF16Bits(scratchU32[0]!);
}
/** Number -> bfloat16 bits. The number is first rounded to float32 (Math.fround), then to bfloat16. */
export function numberToBf16(x: number): number {
  scratchF32[0] = x;
  return f32BitsToBf16Bits(scratchU32[0]!);
}

function table(): Uint32Array {
  if (!f16ToF32Table) {
    f16ToF32Table = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) f16ToF32Table[h] = f16BitsToF32Bits(h);
  }
  return f16ToF32Table;
}

function outF32(n: number, out: Float32Array | undefined): Float32Array {
  if (!out) return new Float32Array(n);
  if (out.length !== n) throw new RangeError(`output length ${out.length} != input length ${n}`);
  return out;
}
function outU16(n: number, out: Uint16Array | undefined): Uint16Array {
  if (!out) return new Uint16Array(n);
  if (out.length !== n) throw new RangeError(`output length ${out.length} != input length ${n}`);
  return out;
}
function bitsOf(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

/** float16 bit patterns -> Float32Array (exact). */
export function f16ToF32(src: Uint16Array, out?: Float32Array): Float32Array {
  const dst = outF32(src.length, out);
  const bits = bitsOf(dst);
  const t = table();
  for (let i = 0; i < src.length; i++) bits[i] = t[src[i]!]!;
  return dst;
}

/** Float32Array -> float16 bit patterns, round to nearest even. */
export function f32ToF16(src: Float32Array, out?: Uint16Array): Uint16Array {
  const dst = outU16(src.length, out);
  const bits = bitsOf(src);
  for (let i = 0; i < bits.length; i++) dst[i] = f32BitsToF16Bits(bits[i]!);
  return dst;
}

/** bfloat16 bit patterns -> Float32Array (exact). */
export function bf16ToF32(src: Uint16Array, out?: Float32Array): Float32Array {
  const dst = outF32(src.length, out);
  const bits = bitsOf(dst);
  for (let i = 0; i < src.length; i++) bits[i] = (src[i]! << 16) >>> 0;
  return dst;
}

/** Float32Array -> bfloat16 bit patterns, round to nearest even. */
export function f32ToBf16(src: Float32Array, out?: Uint16Array): Uint16Array {
  const dst = outU16(src.length, out);
  const bits = bitsOf(src);
  for (let i = 0; i < bits.length; i++) dst[i] = f32BitsToBf16Bits(bits[i]!);
  return dst;
}

/** The largest finite float16 value. */
export const FLOAT16_MAX = 65504;

/**
 * Float32 values as float16 bits, refusing a finite value beyond float16's range (it would silently become
 * Inf): `describe(value, index)` says where, for the error.
 */
export function f32ToF16Checked(src: Float32Array, describe: (value: number, index: number) => Error): Uint16Array {
  for (let i = 0; i < src.length; i++) {
    const x = src[i]!;
    if ((x > FLOAT16_MAX || x < -FLOAT16_MAX) && Number.isFinite(x)) throw describe(x, i);
  }
  return f32ToF16(src);
}
