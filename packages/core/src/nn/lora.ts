/**
 * LoRA at the layer level. A Linear or Conv2d holds a `LoraSlots`: named low-rank adapters (down A, up B,
 * scale alpha/r) that the unfused forward adds as `y + c · up(down(dropout(x)))` without touching the base
 * weight, and the fused state (the base tensor kept aside so that unfusing restores it bit for bit).
 * Dropout (PEFT's `lora_dropout`) acts only in training mode, when the slots carry a mask seed.
 */
import { fromData, tidy } from '../engine.js';
import { CheckpointError, InputError } from '../errors.js';
import { conv2d, type Conv2dOptions } from '../ops/conv.js';
import { add, mul } from '../ops/elementwise.js';
import { cast, toStorage } from '../ops/create.js';
import { linear, matmul } from '../ops/linalg.js';
import { reshape } from '../ops/shape.js';
import { isStorageDType } from '../dtype.js';
import { fmtShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { RandomGenerator } from '../random.js';
import { Parameter } from './parameter.js';

/** One adapter on one layer. Linear: down [r, in], up [out, r]. Conv2d: down [r, in, kh, kw], up [out, r, 1, 1]. */
export interface LoraLayerAdapter {
  readonly down: Parameter;
  readonly up: Parameter;
  /** alpha / rank (or alpha / sqrt(rank) for rsLoRA); 1 when the file gives no alpha */
  readonly scale: number;
  /** dropout on the adapter's input while training (PEFT `lora_dropout`); absent or 0: none */
  readonly dropout?: LoraDropout;
}

/** An adapter's input dropout: probability `p`, and `key`, which makes each layer's mask its own. */
export interface LoraDropout {
  readonly p: number;
  readonly key: number;
}

interface FusedState {
  /** the base weight as it was before fusing (any storage dtype), restored by unfuse */
  base: Tensor;
  /** adapter name → coefficient that was merged in */
  merged: Map<string, number>;
}

export class LoraSlots {
  readonly adapters = new Map<string, LoraLayerAdapter>();
  /** adapter name → weight (setAdapters); an adapter that is not listed is inactive */
  readonly weights = new Map<string, number>();
  fused: FusedState | null = null;
  /**
   * Training mode: the seed of this forward's dropout masks (null: evaluation, no dropout). A layer's mask
   * depends only on (seed, adapter key, input shape), so a forward recomputed under gradient checkpointing
   * draws the same masks.
   */
  trainingSeed: number | null = null;

  get isEmpty(): boolean {
    return this.adapters.size === 0;
  }

  /** Active, unfused adapters with their coefficient (scale · weight); zero coefficients are skipped. */
  live(): [LoraLayerAdapter, number, string][] {
    const out: [LoraLayerAdapter, number, string][] = [];
    for (const [name, a] of this.adapters) {
      if (this.fused?.merged.has(name)) continue;
      const w = this.weights.get(name);
      if (w === undefined || w === 0) continue;
      out.push([a, a.scale * w, name]);
    }
    return out;
  }
}

/** A layer that can carry LoRA adapters (core's Linear and Conv2d). */
export interface LoraLayer {
  readonly weight: Parameter;
  readonly lora: LoraSlots;
  /** the shapes its adapter's down and up matrices must have for rank r */
  loraShapes(rank: number): { down: readonly number[]; up: readonly number[] };
}

/** Throws unless `p` is a dropout probability LoRA accepts: [0, 1). */
export function checkLoraDropout(p: number, where = 'LoRA'): void {
  if (!(p >= 0 && p < 1)) throw new InputError(`${where}: LoRA dropout must be in [0, 1), got ${p}`);
}

/** The dropout mask (0 or 1/(1-p) per element) for one adapter input, drawn on the host from (seed, key). */
export function loraDropoutMask(seed: number, d: LoraDropout, shape: readonly number[]): Tensor {
  const g = new RandomGenerator((seed ^ Math.imul(d.key, 0x9e3779b1)) >>> 0);
  const keep = 1 / (1 - d.p);
  const m = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < m.length; i++) m[i] = g.uniform() < d.p ? 0 : keep;
  return fromData(m, shape, 'float32');
}

/** The adapter's input: x, or x times a dropout mask in training mode. */
function adapterInput(slots: LoraSlots, a: LoraLayerAdapter, x: Tensor): Tensor {
  const d = a.dropout;
  if (slots.trainingSeed === null || !d || d.p === 0) return x;
  return mul(x, loraDropoutMask(slots.trainingSeed, d, x.shape));
}

/** y + Σ c · up(down(dropout(x))) over the live adapters of a Linear. */
export function applyLinearLora(slots: LoraSlots, x: Tensor, y: Tensor): Tensor {
  if (slots.isEmpty) return y;
  let out = y;
  for (const [a, c] of slots.live()) out = add(out, mul(linear(linear(adapterInput(slots, a, x), a.down.use()), a.up.use()), c));
  return out;
}

/** y + Σ c · up(down(dropout(x))) over the live adapters of a Conv2d (down uses the layer's stride/padding, up is 1x1). */
export function applyConvLora(slots: LoraSlots, x: Tensor, y: Tensor, options: Conv2dOptions): Tensor {
  if (slots.isEmpty) return y;
  let out = y;
  for (const [a, c] of slots.live()) {
    const h = conv2d(adapterInput(slots, a, x), a.down.use(), null, options);
    out = add(out, mul(conv2d(h, a.up.use()), c));
  }
  return out;
}

/**
 * The largest adapter scale (alpha / rank) accepted. Real adapters use about 0.1 to 16; a larger scale
 * only drives the model's activations to Inf (a black image), so a file that asks for one is refused.
 */
export const MAX_LORA_SCALE = 10_000;

/** Throws a CheckpointError unless `scale` is a finite adapter scale within ±MAX_LORA_SCALE (also as float32). */
export function checkLoraScale(scale: number, where = 'LoRA'): void {
  if (!(Number.isFinite(Math.fround(scale)) && Math.abs(scale) <= MAX_LORA_SCALE)) {
    throw new CheckpointError(`${where}: LoRA scale (alpha / rank) is ${scale}; it must be a finite number within ±${MAX_LORA_SCALE}`);
  }
}

/** Attach an adapter (float32 tensors of the right shapes, taken over) to a layer. */
export function addLayerAdapter(layer: LoraLayer, name: string, down: Tensor, up: Tensor, scale: number, where = 'LoRA', dropout?: LoraDropout): void {
  if (dropout) checkLoraDropout(dropout.p, where);
  checkLoraScale(scale, where);
  if (layer.lora.adapters.has(name)) throw new InputError(`${where}: the layer already has an adapter named '${name}'; unload it or pick another adapterName`);
  const rank = down.shape[0]!;
  const want = layer.loraShapes(rank);
  const same = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);
  if (!same(down.shape, want.down) || !same(up.shape, want.up)) {
    throw new CheckpointError(`${where}: down ${fmtShape(down.shape)} / up ${fmtShape(up.shape)} do not fit the layer (want ${fmtShape(want.down)} / ${fmtShape(want.up)})`);
  }
  const d = new Parameter(down.shape);
  d.set(down);
  const u = new Parameter(up.shape);
  u.set(up);
  layer.lora.adapters.set(name, dropout && dropout.p > 0 ? { down: d, up: u, scale, dropout } : { down: d, up: u, scale });
  layer.lora.weights.set(name, 1);
}

/** B·A reshaped to the weight's shape: the change that adapter `a` makes to the weight per unit coefficient. */
function deltaOf(layer: LoraLayer, a: LoraLayerAdapter): Tensor {
  const up = a.up.use();
  const down = a.down.use();
  const r = down.shape[0]!;
  const w = layer.weight.shape;
  return reshape(matmul(reshape(up, [up.shape[0]!, r]), reshape(down, [r, down.size / r])), w);
}

/**
 * Merge the live adapters into the base weight: W' = W + scale · Σ c_i B_i A_i, computed in float32 and
 * stored in the base's dtype (16-bit bases stay 16-bit). The base tensor is kept for `unfuseLayer`.
 */
export async function fuseLayer(layer: LoraLayer, scale = 1): Promise<void> {
  const live = layer.lora.live();
  if (live.length === 0) return;
  const current = layer.weight.value;
  const fusedF32 = tidy(() => {
    let w = layer.weight.use();
    for (const [a, c] of live) w = add(w, mul(deltaOf(layer, a), c * scale));
    return w;
  });
  let fused = fusedF32;
  if (isStorageDType(current.dtype)) {
    fused = await toStorage(fusedF32, current.dtype as 'float16' | 'bfloat16');
    fusedF32.dispose();
  }
  const prior = layer.lora.fused;
  const base = layer.weight.replace(fused);
  if (prior) {
    base.dispose(); // an earlier fuse's result; the true base is still kept
    for (const [, c, n] of live) prior.merged.set(n, c * scale);
  } else {
    layer.lora.fused = { base, merged: new Map(live.map(([, c, n]) => [n, c * scale])) };
  }
}

/** Put back the exact base weight kept by `fuseLayer`. */
export function unfuseLayer(layer: LoraLayer): void {
  const f = layer.lora.fused;
  if (!f) return;
  layer.weight.replace(f.base).dispose();
  layer.lora.fused = null;
}

/** Remove adapters (all when `names` is omitted); a fused layer is unfused first. */
export function removeLayerAdapters(layer: LoraLayer, names?: readonly string[]): void {
  if (layer.lora.fused && (!names || names.some((n) => layer.lora.fused!.merged.has(n)))) unfuseLayer(layer);
  for (const [n, a] of [...layer.lora.adapters]) {
    if (names && !names.includes(n)) continue;
    a.down.dispose();
    a.up.dispose();
    layer.lora.adapters.delete(n);
    layer.lora.weights.delete(n);
  }
}

/** Whether a value is a LoRA-capable layer. */
export function isLoraLayer(m: unknown): m is LoraLayer {
  return typeof m === 'object' && m !== null && (m as { lora?: unknown }).lora instanceof LoraSlots;
}

/** float32 copy of a tensor for adapter storage (16-bit file tensors are widened). */
export function asFloat32(t: Tensor): Tensor {
  return t.dtype === 'float32' ? t : cast(t, 'float32');
}
