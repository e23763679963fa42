/**
 * int8 products (compute 'int8', ONNX Runtime's CPU provider): matrix products and convolutions by a constant
 * weight run on int8 kernels (VNNI where the CPU has it); everything else stays float32. Weights are quantized
 * once on the host when the graph is lowered (symmetric int8, scale = max |w| / 127 per output channel),
 * activations at run time from their own range; products accumulate in int32 and scale back to float32.
 * Which kernel, by the rows M of the activation (measured on ONNX Runtime 1.30, 2 threads, AVX-512 VNNI; the
 * relative L2 error of one random product in parentheses):
 * - M ≤ 1024 (text encoders, small latents): the activation rotated by a block-diagonal Hadamard matrix and
 *   quantized per row (per token; rowQuantized), the product in com.microsoft.MatMulIntegerToFloat (the u8·s8
 *   GEMM with pre-packed weights), each output row times its scale. 2.4–2.5x float32 at 248 × 2048 × 6144
 *   (1.2%; 1.3% on heavy-tailed silu(gate)·up, 1.4% with eight channels 30x the others — 2.8% and 6% without
 *   the rotation). com.microsoft.MatMulNBits (8-bit, blocks of 64, accuracy level 4), which scales per block of
 *   each row (0.84%; 1.25% / 1.7%), ran at 1.5–1.8x float32 on a Zen 4 VM: the Qwen3.5-2B encode took 2.5–2.7 s
 *   with it against 1.3–1.5 s now; after one layer it erred by 3.0e-2 against 3.6e-2 (5.8e-2 per row unrotated).
 * - larger M: com.microsoft.DynamicQuantizeMatMul (activation per tensor): 10% faster than per row on the UNet
 *   at 32² (the extra passes of the per-row quantization over 2048–8192 rows), which errs by 5.4e-2 per step
 *   instead of 7.2e-2 (the per-tensor scale is set by the largest token). 2.8–3.7x float32 (1.3–1.5%).
 * - a convolution (one group) is written as a product over its taps: x quantized once (per tensor), laid out
 *   channels-last, one strided Slice per tap (the padding filled with the zero point, which is exactly 0.0),
 *   concatenated into [N, Ho, Wo, taps·C] and multiplied by the weight [taps·C, O] in
 *   com.microsoft.MatMulIntegerToFloat. The unfolded input is uint8, a quarter of a float32 one; still, moving
 *   it costs what the product saves when the contraction is short or the outputs few, so only convolutions with
 *   C·kH·kW ≥ `minConvDepth` (2304: 256 channels at 3x3) and at least `minConvOutputs` (128) output channels
 *   use it. Measured with pre-packed weights: 1.5–1.6x float32 at 256 channels, 1.2–2.4x at 320, 2–2.6x at
 *   512–640; 1.2x at 128 channels on a 512² image, not worth the VAE's last layers 2–2.5 dB of PSNR (and a
 *   300 MB unfold each); 0.85x at 64 channels and 0.5x for a 128 → 3 output convolution.
 * These GEMMs pack a constant weight once when ONNX Runtime pre-packs; graphs lowered with `sharedWeights`
 * (pre-packing off) pack it on every call and lose much of the gain.
 */
import type { OpAttrs } from '../backend.js';
import type { LazyValue } from '../graph/lazy-value.js';
import type { Segment } from '../graph/segment.js';
import { bf16ToF32, f16ToF32 } from '../io/half.js';
import type { Builder } from './builder.js';

/** Contraction length (input channels × kernel taps) from which a convolution runs in int8 by default. */
export const INT8_CONV_MIN_DEPTH = 2304;
/** Output channels from which a convolution runs in int8 by default. */
export const INT8_CONV_MIN_OUTPUTS = 128;
/** Rows of the activation up to which a matrix product quantizes the activation per row (per token). */
export const INT8_ROWWISE_MAX_ROWS = 1024;
/** Block length of the Hadamard rotation in front of a per-row quantized product (a power of two). */
export const INT8_ROTATION = 64;

/** The rotation block of a contraction of length k: the largest power of two ≤ INT8_ROTATION dividing k. */
export function rotationBlock(k: number): number {
  let b = 1;
  while (b < INT8_ROTATION && k % (2 * b) === 0) b *= 2;
  return b;
}

/**
 * Each block of `v` times the orthonormal Hadamard matrix of that size (Sylvester order), in place: the fast
 * Walsh–Hadamard transform, two butterfly stages per pass (radix 4), the 1/√block folded into the last pass.
 */
export function hadamardBlocks(v: Float32Array, block: number): Float32Array {
  const norm = 1 / Math.sqrt(block);
  for (let b0 = 0; b0 < v.length; b0 += block) {
    for (let h = 1; h < block; ) {
      if (4 * h <= block) {
        // two stages at once
        const f = 4 * h === block ? norm : 1;
        for (let i = b0; i < b0 + block; i += 4 * h) {
          for (let j = i; j < i + h; j++) {
            const a = v[j]!;
            const b = v[j + h]!;
            const c = v[j + 2 * h]!;
            const d = v[j + 3 * h]!;
            const ab = a + b;
            const amb = a - b;
            const cd = c + d;
            const cmd = c - d;
            v[j] = (ab + cd) * f;
            v[j + h] = (amb + cmd) * f;
            v[j + 2 * h] = (ab - cd) * f;
            v[j + 3 * h] = (amb - cmd) * f;
          }
        }
        h *= 4;
      } else {
        // the last stage of an odd power of two
        for (let i = b0; i < b0 + block; i += 2 * h) {
          for (let j = i; j < i + h; j++) {
            const a = v[j]!;
            const c = v[j + h]!;
            v[j] = (a + c) * norm;
            v[j + h] = (a - c) * norm;
          }
        }
        h *= 2;
      }
    }
  }
  return v;
}

export type Int8Kind = 'matmul' | 'conv';

export interface Int8Options {
  /** a convolution's C·kH·kW from which it runs in int8 (default INT8_CONV_MIN_DEPTH) */
  minConvDepth?: number;
  /** a convolution's output channels from which it runs in int8 (default INT8_CONV_MIN_OUTPUTS) */
  minConvOutputs?: number;
}

/**
 * The nodes of a segment computed in int8 (node → kind): float32 matrix products by a constant 2-d weight
 * (not transposing the activation) and one-group convolutions by a constant weight with a long enough
 * contraction and enough outputs. `exclude`: nodes lowered otherwise (the sub-pixel convolutions).
 */
export function int8Products(seg: Segment, opts: Int8Options = {}, exclude: ReadonlySet<LazyValue> = new Set()): Map<LazyValue, Int8Kind> {
  const constants = new Set(seg.constants);
  const minDepth = opts.minConvDepth ?? INT8_CONV_MIN_DEPTH;
  const minOutputs = opts.minConvOutputs ?? INT8_CONV_MIN_OUTPUTS;
  const plan = new Map<LazyValue, Int8Kind>();
  for (const v of seg.nodes) {
    const [x, w] = v.inputs;
    if (!x || !w || !constants.has(w) || v.fullPrecision || exclude.has(v) || x.dtype !== 'float32' || w.dtype !== 'float32') continue;
    if (v.op === 'matmul') {
      const { transposeA } = v.attrs as OpAttrs['matmul'];
      if (!transposeA && w.shape.length === 2) plan.set(v, 'matmul');
    } else if (v.op === 'conv2d') {
      const { groups } = v.attrs as OpAttrs['conv2d'];
      const [o, c, kh, kw] = w.shape as [number, number, number, number];
      if (groups === 1 && x.shape.length === 4 && c * kh * kw >= minDepth && o >= minOutputs) plan.set(v, 'conv');
    }
  }
  return plan;
}

/** The weights that only int8 products read: the graph holds them as int8 alone, without a float initializer. */
export function int8OnlyWeights(seg: Segment, plan: ReadonlyMap<LazyValue, Int8Kind>): Set<LazyValue> {
  const asWeight = new Set<LazyValue>();
  const other = new Set<LazyValue>();
  for (const v of seg.nodes) {
    v.inputs.forEach((u, i) => {
      if (!u) return;
      if (i === 1 && plan.has(v)) asWeight.add(u);
      else other.add(u);
    });
  }
  for (const v of seg.outputs) other.add(v);
  return new Set([...asWeight].filter((w) => !other.has(w)));
}

/**
 * One float32 buffer for the widened weights, reused from weight to weight: fresh memory costs more to touch
 * than the quantization itself (1.2–4.5 s per GiB on the benchmark VMs, 5–18 ns a value), and a UNet has
 * 1.7 billion values. The quantizers read it before the next weight is widened.
 */
let scratch = new Float32Array(0);
function scratchOf(n: number): Float32Array {
  if (scratch.length < n) scratch = new Float32Array(Math.max(n, Math.ceil(scratch.length * 1.5)));
  return scratch.subarray(0, n);
}

/** A weight's values as float32 (16-bit storage widened into the scratch buffer; read from its file if it is not in memory). */
function weightValues(w: LazyValue): Float32Array {
  if (!w.storage) return w.data as Float32Array;
  const out = scratchOf(w.storage.bits.length);
  return w.storage.dtype === 'float16' ? f16ToF32(w.storage.bits, out) : bf16ToF32(w.storage.bits, out);
}

/** Releases the scratch buffer (after a graph is lowered). */
export function releaseInt8Scratch(): void {
  scratch = new Float32Array(0);
}

/** The symmetric int8 scale of `xs[i0, i1)`: max |x| / 127, or 1 when all are zero. */
function int8Scale(xs: Float32Array, i0: number, i1: number): number {
  let m = 0;
  for (let i = i0; i < i1; i++) {
    const a = Math.abs(xs[i]!);
    if (a > m) m = a;
  }
  return m > 0 ? m / 127 : 1;
}

export interface Int8Weight {
  /** int8 values [K, N], row-major */
  q: Int8Array;
  /** float32 scale per column (output channel) [N] */
  scale: Float32Array;
}

/**
 * Symmetric per-column int8 quantization of a weight read as [K, N]: `rowsAreColumns` when its leading axis is
 * N (a transposed matrix [N, K], a convolution [O, C, kH, kW]); `taps` = kH·kW > 1 reorders a convolution's
 * contraction from (c, ky, kx) to (ky, kx, c); `rotate` > 1 quantizes H·w instead, H the block-diagonal Hadamard
 * rotation with blocks of that length along the contraction (see rowQuantized). A column of zeros gets scale 1.
 */
export function quantizeColumns(src: Float32Array, k: number, n: number, rowsAreColumns: boolean, taps = 1, rotate = 1): Int8Weight {
  const q = new Int8Array(k * n);
  const scale = new Float32Array(n);
  const c = k / taps;
  const col = rowsAreColumns ? null : new Float32Array(k);
  const rotated = rotate > 1 ? new Float32Array(k) : null;
  // columns are quantized into rows of a [TILE, K] tile (stored index ch·taps + t goes to contraction index
  // t·C + ch), and each full tile is transposed into q: q's writes run along its rows, not down its columns
  const tile = new Int8Array(TILE * k);
  for (let j0 = 0; j0 < n; j0 += TILE) {
    const cols = Math.min(TILE, n - j0);
    for (let jj = 0; jj < cols; jj++) {
      const j = j0 + jj;
      let row = columnOf(src, k, n, j, col);
      if (rotated) {
        rotated.set(row);
        row = hadamardBlocks(rotated, rotate);
      }
      const s = int8Scale(row, 0, k);
      const inv = 1 / s;
      scale[j] = s;
      const base = jj * k;
      // ((y + 128.5) | 0) - 128 is Math.round(y) for y ≥ -128.5 (here |y| ≤ 127)
      if (taps === 1) for (let i = 0; i < k; i++) tile[base + i] = ((row[i]! * inv + 128.5) | 0) - 128;
      else for (let ch = 0; ch < c; ch++) for (let t = 0; t < taps; t++) tile[base + t * c + ch] = ((row[ch * taps + t]! * inv + 128.5) | 0) - 128;
    }
    for (let i = 0; i < k; i++) {
      const at = i * n + j0;
      for (let jj = 0; jj < cols; jj++) q[at + jj] = tile[jj * k + i]!;
    }
  }
  return { q, scale };
}

/** Columns quantized together before they are written into the [K, N] result. */
const TILE = 64;

/** Column j of a weight read as [K, N]: row j of a stored [N, K] one (`gather` null), else gathered into `gather`. */
function columnOf(src: Float32Array, k: number, n: number, j: number, gather: Float32Array | null): Float32Array {
  if (!gather) return src.subarray(j * k, (j + 1) * k);
  for (let i = 0; i < k; i++) gather[i] = src[i * n + j]!;
  return gather;
}

/**
 * Quantized weights by weight and layout, kept while the weight lives: a graph of the same model at another
 * size (a UNet step at a new latent size) reuses them instead of quantizing 1.7 billion values again (17 s of
 * a UNet's first call). `forgetInt8(w)` drops a weight's entries when it is released.
 */
const quantized = new WeakMap<LazyValue, Map<string, { q: Uint8Array; scale: Float32Array }>>();

function cachedQuantized(w: LazyValue, layout: string, make: () => { q: Uint8Array; scale: Float32Array }): { q: Uint8Array; scale: Float32Array } {
  let byLayout = quantized.get(w);
  if (!byLayout) quantized.set(w, (byLayout = new Map()));
  let hit = byLayout.get(layout);
  if (!hit) byLayout.set(layout, (hit = make()));
  return hit;
}

/** How many quantized copies of a weight are kept (one per layout it was used in). */
export function quantizedCopies(w: LazyValue): number {
  return quantized.get(w)?.size ?? 0;
}

/** Drops the quantized copies of a released weight. */
export function forgetInt8(w: LazyValue): void {
  quantized.delete(w);
}

/** The int8 initializers of a weight (made once per graph): names of the [K, N] int8 values and the [N] scales. */
function int8Initializers(b: Builder, w: LazyValue, kind: Int8Kind, transposeB: boolean, key: string, rotate = 1): { q: string; scale: string } {
  const h = rotate > 1 ? `_h${rotate}` : '';
  const names = { q: `${key}_int8${h}`, scale: `${key}_scale${h}` };
  if (b.int8Names.has(names.q)) return names;
  // a convolution [O, C, kH, kW] is read as [C·kH·kW, O] with its taps reordered; a matrix [K, N] (or [N, K] transposed)
  const s = w.shape as number[];
  const taps = kind === 'conv' ? s[2]! * s[3]! : 1;
  const [k, n] = kind === 'conv' ? [s[1]! * taps, s[0]!] : transposeB ? [s[1]!, s[0]!] : [s[0]!, s[1]!];
  const qw = cachedQuantized(w, `columns-${kind}${transposeB ? 'T' : ''}${h}`, () => {
    const { q, scale } = quantizeColumns(weightValues(w), k, n, kind === 'conv' || transposeB, taps, rotate);
    return { q: new Uint8Array(q.buffer, q.byteOffset, q.byteLength), scale };
  });
  b.initializer(names.q, 'int8', [k, n], qw.q, names.q);
  b.initializer(names.scale, 'float32', [n], new Uint8Array(qw.scale.buffer, qw.scale.byteOffset, qw.scale.byteLength), names.scale);
  b.int8Names.add(names.q);
  return names;
}

/**
 * `x` [rows, K] (any leading shape) rotated and quantized per row, shared by every product of the graph that
 * reads it. The rotation: each block of `rotate` values along K times the orthonormal Hadamard matrix H (a
 * [rows·K/b, b] × [b, b] float product, 2·b flops a value); the weight is quantized as H·w, so (x·H)(H·w) = x·w.
 * It spreads a few large values of a row over their block, so that the row's max |x|, which sets its scale, is
 * not theirs: on heavy-tailed activations (silu(gate)·up) a product errs by 1.3% instead of 2.8%, with eight
 * channels 30x the others by 1.4% instead of 6% (the block-wise MatMulNBits: 1.25% / 1.7%).
 * Then uint8 with zero point 128 and scale max |row| / 127 (a row of zeros: a tiny scale, so it stays 0).
 * `scale` is [rows, 1], to multiply the product's rows by.
 */
function rowQuantized(b: Builder, x: string, rows: number, k: number, rotate: number): { q: string; scale: string; zero: string } {
  const key = `${x}/${rotate}`;
  const hit = b.int8Rows.get(key);
  if (hit) return hit;
  let x2 = b.op('Reshape', [x, b.i64([rows, k])]);
  if (rotate > 1) x2 = b.op('Reshape', [b.op('MatMul', [b.op('Reshape', [x2, b.i64([rows * (k / rotate), rotate])]), hadamard(b, rotate)]), b.i64([rows, k])]);
  const max = b.op('ReduceMax', [b.op('Abs', [x2]), b.i64([1])], { keepdims: 1 });
  const scale = b.op('Max', [b.op('Mul', [max, b.fill32(1 / 127)]), b.fill32(1e-30)]);
  const q = b.op('QuantizeLinear', [x2, b.op('Reshape', [scale, b.i64([rows])]), uint8Filled(b, [rows], 128)], { axis: 0 });
  const made = { q, scale, zero: uint8Filled(b, [], 128) };
  b.int8Rows.set(key, made);
  return made;
}

/** A uint8 constant of `shape` filled with `value`, once per graph. */
function uint8Filled(b: Builder, shape: readonly number[], value: number): string {
  const name = `uint8_${value}_${shape.join('x') || 'scalar'}`;
  if (!b.int8Names.has(name)) {
    b.initializer(name, 'uint8', shape, new Uint8Array(shape.reduce((p, d) => p * d, 1)).fill(value), name);
    b.int8Names.add(name);
  }
  return name;
}

/** The orthonormal Hadamard matrix of size `n` (a power of two) as a float32 initializer, once per graph. */
function hadamard(b: Builder, n: number): string {
  const name = `hadamard_${n}`;
  if (!b.int8Names.has(name)) {
    const h = new Float32Array(n * n);
    for (let i = 0; i < n; i++) h[i * n + i] = 1;
    hadamardBlocks(h, n); // each row e_i becomes H e_i, row i of the symmetric H
    b.initializer(name, 'float32', [n, n], new Uint8Array(h.buffer), name);
    b.int8Names.add(name);
  }
  return name;
}

/** One planned node (int8Products) as int8 kernels; `key` names the weight's initializers. */
export function lowerInt8(b: Builder, v: LazyValue, kind: Int8Kind, ins: readonly string[], out: string, key: string): void {
  const w = v.inputs[1]!;
  if (kind === 'matmul') {
    const { transposeB } = v.attrs as OpAttrs['matmul'];
    const a = v.inputs[0]!.shape;
    const rows = a.slice(0, -1).reduce((p, d) => p * d, 1);
    if (rows <= INT8_ROWWISE_MAX_ROWS) {
      const k = a[a.length - 1]!;
      const rotate = rotationBlock(k);
      const q = int8Initializers(b, w, kind, transposeB, key, rotate);
      const n = v.shape[v.shape.length - 1]!;
      const x = rowQuantized(b, ins[0]!, rows, k, rotate);
      // acc · 1 · scale_w[n] (the activation's zero point 128 taken out), then each row times its own scale
      const y = b.op('MatMulIntegerToFloat', [x.q, q.q, b.fill32(1), q.scale, x.zero], undefined, 'com.microsoft');
      if (a.length === 2) b.op('Mul', [y, x.scale], undefined, undefined, out);
      else b.op('Reshape', [b.op('Mul', [y, x.scale]), b.i64([...a.slice(0, -1), n])], undefined, undefined, out);
      return;
    }
    const q = int8Initializers(b, w, kind, transposeB, key);
    b.op('DynamicQuantizeMatMul', [ins[0]!, q.q, q.scale], undefined, 'com.microsoft', out);
    return;
  }
  const q = int8Initializers(b, w, kind, false, key);
  const { stride, padding, dilation } = v.attrs as OpAttrs['conv2d'];
  const [top, bottom, left, right] = padding;
  const [, , kh, kw] = w.shape as [number, number, number, number];
  const [ho, wo] = [v.shape[2]!, v.shape[3]!];
  const [xq, xs, xz] = b.ops('DynamicQuantizeLinear', [ins[0]!], 3) as [string, string, string];
  let x = b.op('Transpose', [xq], { perm: [0, 2, 3, 1] });
  // the zero point is the quantized 0.0: padding with it pads with zeros
  if (top || bottom || left || right) x = b.op('Pad', [x, b.i64([0, top, left, 0, 0, bottom, right, 0]), xz], { mode: 'constant' });
  const taps: string[] = [];
  for (let ky = 0; ky < kh; ky++) {
    for (let kx = 0; kx < kw; kx++) {
      const [y0, x0] = [ky * dilation[0], kx * dilation[1]];
      const ends = [y0 + (ho - 1) * stride[0] + 1, x0 + (wo - 1) * stride[1] + 1];
      taps.push(b.op('Slice', [x, b.i64([y0, x0]), b.i64(ends), b.i64([1, 2]), b.i64([...stride])]));
    }
  }
  const cols = taps.length === 1 ? taps[0]! : b.op('Concat', taps, { axis: 3 });
  const inputs = [cols, q.q, xs, q.scale, xz];
  if (ins[2]) inputs.push('', ins[2]);
  const y = b.op('MatMulIntegerToFloat', inputs, undefined, 'com.microsoft');
  b.op('Transpose', [y], { perm: [0, 3, 1, 2] }, undefined, out);
}
