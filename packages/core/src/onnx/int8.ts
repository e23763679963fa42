/**
 * int8 products (compute 'int8', ONNX Runtime's CPU provider): matrix products and convolutions by a constant
 * weight run on int8 kernels (VNNI where the CPU has it); everything else stays float32. Weights are quantized
 * once on the host when the graph is lowered (symmetric int8, scale = max |w| / 127 per output channel or per
 * block), activations at run time from their own range; products accumulate in int32 and scale back to float32.
 * Which kernel, by the rows M of the activation (measured on ONNX Runtime 1.30, 2 threads, AVX-512 VNNI; the
 * relative L2 error of one random product in parentheses):
 * - M ≤ 1024 (text encoders, small latents): com.microsoft.MatMulNBits with 8-bit weights in blocks of 64 along
 *   the contraction and accuracy level 4, which quantizes each row of the activation per block too: per-token
 *   scales, so one large activation spoils only its own block. 1.5–3.6x float32 (0.84%; 1.4% with outlier
 *   channels, where the per-tensor kernel below errs by 36–40%).
 * - larger M: com.microsoft.DynamicQuantizeMatMul (weights per output channel, activation per tensor, uint8):
 *   2.8–3.7x float32 (1.3–1.5%) where the block kernel falls to 1.0–1.7x.
 * - a convolution (one group) is written as a product over its taps: x quantized once (per tensor), laid out
 *   channels-last, one strided Slice per tap (the padding filled with the zero point, which is exactly 0.0),
 *   concatenated into [N, Ho, Wo, taps·C] and multiplied by the weight [taps·C, O] in
 *   com.microsoft.MatMulIntegerToFloat. The unfolded input is uint8, a quarter of a float32 one; still, moving
 *   it costs what the product saves when the contraction is short or the outputs few, so only convolutions with
 *   C·kH·kW ≥ `minConvDepth` (2304: 256 channels at 3x3) and at least `minConvOutputs` (128) output channels
 *   use it. Measured with pre-packed weights: 1.5–1.6x float32 at 256 channels, 1.2–2.4x at 320, 2–2.6x at
 *   512–640; 1.2x at 128 channels on a 512² image, not worth the VAE's last layers 2–2.5 dB of PSNR (and a
 *   300 MB unfold each); 0.85x at 64 channels and 0.5x for a 128 → 3 output convolution.
 * Every one of these kernels needs ONNX Runtime's pre-packed weights: MatMulNBits without them dequantizes its
 * weight on every call (25–40x slower), so graphs lowered with `sharedWeights` (pre-packing off) lose the gain.
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
/** Rows of the activation up to which a matrix product uses the block-wise kernel (per-token activation scales). */
export const INT8_BLOCK_MAX_ROWS = 1024;
/** Block length along the contraction of the block-wise kernel. */
export const INT8_BLOCK = 64;

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
 * contraction from (c, ky, kx) to (ky, kx, c). A column of zeros gets scale 1.
 */
export function quantizeColumns(src: Float32Array, k: number, n: number, rowsAreColumns: boolean, taps = 1): Int8Weight {
  const q = new Int8Array(k * n);
  const scale = new Float32Array(n);
  const c = k / taps;
  const col = rowsAreColumns ? null : new Float32Array(k);
  // columns are quantized into rows of a [TILE, K] tile (stored index ch·taps + t goes to contraction index
  // t·C + ch), and each full tile is transposed into q: q's writes run along its rows, not down its columns
  const tile = new Int8Array(TILE * k);
  for (let j0 = 0; j0 < n; j0 += TILE) {
    const cols = Math.min(TILE, n - j0);
    for (let jj = 0; jj < cols; jj++) {
      const j = j0 + jj;
      const row = columnOf(src, k, n, j, col);
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
 * Block-wise 8-bit quantization of a weight read as [K, N] (`transposed`: stored [N, K]) in MatMulNBits' layout:
 * uint8 [N, ⌈K/block⌉, block] with zero point 128 (the padding of a last partial block is 128, i.e. 0.0) and
 * one float32 scale per (column, block), max |w| / 127 of the block (1 for a block of zeros).
 */
export function quantizeBlocks(src: Float32Array, k: number, n: number, transposed: boolean, block = INT8_BLOCK): { q: Uint8Array; scale: Float32Array } {
  const nb = Math.ceil(k / block);
  const q = new Uint8Array(n * nb * block).fill(128);
  const scale = new Float32Array(n * nb);
  const col = transposed ? null : new Float32Array(k);
  for (let j = 0; j < n; j++) {
    const row = columnOf(src, k, n, j, col);
    for (let blk = 0; blk < nb; blk++) {
      const i0 = blk * block;
      const i1 = Math.min(k, i0 + block);
      const s = int8Scale(row, i0, i1);
      const inv = 1 / s;
      scale[j * nb + blk] = s;
      const base = (j * nb + blk) * block - i0;
      // (y + 128.5) | 0 is 128 + Math.round(y) for y ≥ -128.5 (here |y| ≤ 127)
      for (let i = i0; i < i1; i++) q[base + i] = (row[i]! * inv + 128.5) | 0;
    }
  }
  return { q, scale };
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

function blockInitializers(b: Builder, w: LazyValue, transposeB: boolean, key: string): { q: string; scale: string; k: number; n: number } {
  const [r, c] = w.shape as [number, number];
  const [k, n] = transposeB ? [c, r] : [r, c];
  const names = { q: `${key}_u8`, scale: `${key}_bscale`, k, n };
  if (b.int8Names.has(names.q)) return names;
  const { q, scale } = cachedQuantized(w, `blocks${transposeB ? 'T' : ''}`, () => quantizeBlocks(weightValues(w), k, n, transposeB));
  b.initializer(names.q, 'uint8', [n, Math.ceil(k / INT8_BLOCK), INT8_BLOCK], q, names.q);
  b.initializer(names.scale, 'float32', [scale.length], new Uint8Array(scale.buffer, scale.byteOffset, scale.byteLength), names.scale);
  b.int8Names.add(names.q);
  return names;
}

/** The int8 initializers of a weight (made once per graph): names of the [K, N] int8 values and the [N] scales. */
function int8Initializers(b: Builder, w: LazyValue, kind: Int8Kind, transposeB: boolean, key: string): { q: string; scale: string } {
  const names = { q: `${key}_int8`, scale: `${key}_scale` };
  if (b.int8Names.has(names.q)) return names;
  // a convolution [O, C, kH, kW] is read as [C·kH·kW, O] with its taps reordered; a matrix [K, N] (or [N, K] transposed)
  const s = w.shape as number[];
  const taps = kind === 'conv' ? s[2]! * s[3]! : 1;
  const [k, n] = kind === 'conv' ? [s[1]! * taps, s[0]!] : transposeB ? [s[1]!, s[0]!] : [s[0]!, s[1]!];
  const qw = cachedQuantized(w, `columns-${kind}${transposeB ? 'T' : ''}`, () => {
    const { q, scale } = quantizeColumns(weightValues(w), k, n, kind === 'conv' || transposeB, taps);
    return { q: new Uint8Array(q.buffer, q.byteOffset, q.byteLength), scale };
  });
  b.initializer(names.q, 'int8', [k, n], qw.q, names.q);
  b.initializer(names.scale, 'float32', [n], new Uint8Array(qw.scale.buffer, qw.scale.byteOffset, qw.scale.byteLength), names.scale);
  b.int8Names.add(names.q);
  return names;
}

/** One planned node (int8Products) as int8 kernels; `key` names the weight's initializers. */
export function lowerInt8(b: Builder, v: LazyValue, kind: Int8Kind, ins: readonly string[], out: string, key: string): void {
  const w = v.inputs[1]!;
  if (kind === 'matmul') {
    const { transposeB } = v.attrs as OpAttrs['matmul'];
    const a = v.inputs[0]!.shape;
    const rows = a.slice(0, -1).reduce((p, d) => p * d, 1);
    if (rows <= INT8_BLOCK_MAX_ROWS) {
      const q = blockInitializers(b, w, transposeB, key);
      b.op('MatMulNBits', [ins[0]!, q.q, q.scale], { K: q.k, N: q.n, bits: 8, block_size: INT8_BLOCK, accuracy_level: 4 }, 'com.microsoft', out);
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
