/**
 * Block-wise 8-bit quantization of optimizer state (Dettmers et al., "8-bit Optimizers via Block-wise
 * Quantization", 2022). A tensor is cut into blocks; each block is scaled by its absolute maximum into
 * [-1, 1] (or [0, 1]) and every value is stored as the index of the nearest entry of a 256-value code
 * book. Two code books: the "dynamic" (dynamic tree) map, whose entries are spread over seven decades
 * so small values keep their relative precision, and a plain linear map.
 */

export type QuantMapKind = 'dynamic' | 'linear';

/**
 * Dynamic tree code book: for exponent e = 0..6 the magnitudes 10^(e-6) * f, where f walks the
 * midpoints of a linear grid over [0.1, 1] with 2^e (signed) or 2^(e+1) (unsigned) cells; plus 0 and 1.
 * Signed: 127 positive + 127 negative + {0, 1}; unsigned: 254 positive + {0, 1}. Sorted ascending.
 */
export function dynamicMap(signed: boolean): Float32Array {
  const values: number[] = [0, 1];
  for (let e = 0; e < 7; e++) {
    const cells = signed ? 2 ** e : 2 ** (e + 1);
    const scale = 10 ** (e - 6);
    for (let c = 0; c < cells; c++) {
      const lo = 0.1 + (0.9 * c) / cells;
      const hi = 0.1 + (0.9 * (c + 1)) / cells;
      const v = scale * ((lo + hi) / 2);
      values.push(v);
      if (signed) values.push(-v);
    }
  }
  if (values.length !== 256) throw new Error(`dynamic map has ${values.length} entries`);
  return Float32Array.from(values.sort((a, b) => a - b));
}

/** 256 evenly spaced values over [-1, 1] (signed) or [0, 1] (unsigned), sorted ascending. */
export function linearMap(signed: boolean): Float32Array {
  const out = new Float32Array(256);
  const lo = signed ? -1 : 0;
  for (let i = 0; i < 256; i++) out[i] = lo + ((1 - lo) * i) / 255;
  return out;
}

export function quantMap(kind: QuantMapKind, signed: boolean): Float32Array {
  return kind === 'dynamic' ? dynamicMap(signed) : linearMap(signed);
}

/** Midpoints between consecutive code book entries (255 of them): nearest-entry search bounds. */
export function codeBounds(code: Float32Array): Float32Array {
  const b = new Float32Array(code.length - 1);
  for (let i = 0; i < b.length; i++) b[i] = (code[i]! + code[i + 1]!) / 2;
  return b;
}

/** Index of the code book entry nearest to x (x already normalised into the map's range). */
export function nearestCode(bounds: Float32Array, x: number): number {
  let lo = 0;
  let hi = bounds.length; // answer in [0, bounds.length]
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (x > bounds[mid]!) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A block-wise quantized vector: one byte per value and one float32 scale per block. */
export interface QuantizedState {
  codes: Uint8Array;
  absmax: Float32Array;
}

export function allocQuantized(size: number, blockSize: number): QuantizedState {
  return { codes: new Uint8Array(size), absmax: new Float32Array(Math.ceil(size / blockSize)) };
}

/**
 * Quantize values [start, end) (one block) into q, using absmax slot `block`; value i is read from
 * x[i - xOffset] (a block-sized scratch passes xOffset = start).
 */
export function quantizeBlock(x: Float32Array, q: QuantizedState, block: number, start: number, end: number, bounds: Float32Array, xOffset = 0): void {
  let amax = 0;
  for (let i = start; i < end; i++) {
    const a = Math.abs(x[i - xOffset]!);
    if (a > amax) amax = a;
  }
  q.absmax[block] = amax;
  const inv = amax > 0 ? 1 / amax : 0;
  for (let i = start; i < end; i++) q.codes[i] = nearestCode(bounds, x[i - xOffset]! * inv);
}

/** Dequantize values [start, end) (one block) of q; value i goes to out[i - outOffset]. */
export function dequantizeBlock(q: QuantizedState, block: number, start: number, end: number, code: Float32Array, out: Float32Array, outOffset = 0): void {
  const amax = q.absmax[block]!;
  for (let i = start; i < end; i++) out[i - outOffset] = code[q.codes[i]!]! * amax;
}

/** Whole-vector helpers (tests, state inspection). */
export function quantize(x: Float32Array, blockSize: number, code: Float32Array): QuantizedState {
  const q = allocQuantized(x.length, blockSize);
  const bounds = codeBounds(code);
  for (let b = 0, s = 0; s < x.length; b++, s += blockSize) quantizeBlock(x, q, b, s, Math.min(x.length, s + blockSize), bounds);
  return q;
}

export function dequantize(q: QuantizedState, blockSize: number, code: Float32Array): Float32Array {
  const out = new Float32Array(q.codes.length);
  for (let b = 0, s = 0; s < out.length; b++, s += blockSize) dequantizeBlock(q, b, s, Math.min(out.length, s + blockSize), code, out);
  return out;
}
