import { tidy } from '../engine.js';
import { gather } from '../ops/shape.js';
import { conv2d, type Conv2dOptions } from '../ops/conv.js';
import { linear } from '../ops/linalg.js';
import { groupNorm, layerNorm, rmsNorm } from '../ops/norm.js';
import { InputError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { Module } from './module.js';
import { Parameter } from './parameter.js';
import { LoraSlots, applyConvLora, applyLinearLora, removeLayerAdapters, type LoraLayer } from './lora.js';

export class Linear extends Module implements LoraLayer {
  readonly weight: Parameter;
  readonly bias: Parameter | undefined;
  /** LoRA adapters (not state: they never appear in `namedParameters`) */
  readonly lora = new LoraSlots();
  constructor(readonly inFeatures: number, readonly outFeatures: number, bias = true) {
    super();
    this.weight = new Parameter([outFeatures, inFeatures]);
    this.bias = bias ? new Parameter([outFeatures]) : undefined;
  }
  forward(x: Tensor): Tensor {
    return tidy(() => applyLinearLora(this.lora, x, linear(x, this.weight.use(), this.bias?.use())));
  }
  loraShapes(rank: number): { down: readonly number[]; up: readonly number[] } {
    return { down: [rank, this.inFeatures], up: [this.outFeatures, rank] };
  }
  override dispose(): void {
    removeLayerAdapters(this);
    super.dispose();
  }
}

export class Conv2d extends Module implements LoraLayer {
  readonly weight: Parameter;
  readonly bias: Parameter | undefined;
  readonly options: Conv2dOptions;
  /** LoRA adapters (not state: they never appear in `namedParameters`) */
  readonly lora = new LoraSlots();
  constructor(inChannels: number, outChannels: number, kernelSize: number | [number, number], opts: Conv2dOptions & { bias?: boolean } = {}) {
    super();
    const [kh, kw] = typeof kernelSize === 'number' ? [kernelSize, kernelSize] : kernelSize;
    const groups = opts.groups ?? 1;
    this.weight = new Parameter([outChannels, inChannels / groups, kh, kw]);
    this.bias = opts.bias === false ? undefined : new Parameter([outChannels]);
    this.options = { stride: opts.stride ?? 1, padding: opts.padding ?? 0, dilation: opts.dilation ?? 1, groups };
  }
  forward(x: Tensor): Tensor {
    return tidy(() => applyConvLora(this.lora, x, conv2d(x, this.weight.use(), this.bias?.use() ?? null, this.options), this.options));
  }
  loraShapes(rank: number): { down: readonly number[]; up: readonly number[] } {
    const [o, i, kh, kw] = this.weight.shape as [number, number, number, number];
    if ((this.options.groups ?? 1) !== 1) throw new InputError(`LoRA on a grouped convolution (groups ${this.options.groups}) is not supported`);
    return { down: [rank, i, kh, kw], up: [o, rank, 1, 1] };
  }
  override dispose(): void {
    removeLayerAdapters(this);
    super.dispose();
  }
}

export class GroupNorm extends Module {
  readonly weight: Parameter | undefined;
  readonly bias: Parameter | undefined;
  constructor(readonly numGroups: number, readonly numChannels: number, readonly eps = 1e-5, affine = true) {
    super();
    this.weight = affine ? new Parameter([numChannels]) : undefined;
    this.bias = affine ? new Parameter([numChannels]) : undefined;
  }
  forward(x: Tensor): Tensor {
    return tidy(() => groupNorm(x, this.numGroups, this.weight?.use() ?? null, this.bias?.use() ?? null, this.eps));
  }
}

export class LayerNorm extends Module {
  readonly weight: Parameter | undefined;
  readonly bias: Parameter | undefined;
  constructor(readonly dim: number, readonly eps = 1e-5, affine = true, bias = true) {
    super();
    this.weight = affine ? new Parameter([dim]) : undefined;
    this.bias = affine && bias ? new Parameter([dim]) : undefined;
  }
  forward(x: Tensor): Tensor {
    return tidy(() => layerNorm(x, this.weight?.use() ?? null, this.bias?.use() ?? null, this.eps));
  }
}

/** RMSNorm; `unitOffset` multiplies by (1 + weight) as Qwen3.5's zero-centred norms do. */
export class RMSNorm extends Module {
  readonly weight: Parameter;
  constructor(readonly dim: number, readonly eps = 1e-6, readonly unitOffset = false) {
    super();
    this.weight = new Parameter([dim]);
  }
  forward(x: Tensor): Tensor {
    return tidy(() => rmsNorm(x, this.weight.use(), this.eps, this.unitOffset));
  }
}

export class Embedding extends Module {
  readonly weight: Parameter;
  constructor(readonly numEmbeddings: number, readonly dim: number) {
    super();
    this.weight = new Parameter([numEmbeddings, dim]);
  }
  /** ids: int32 tensor of any shape → [...ids.shape, dim] */
  forward(ids: Tensor): Tensor {
    return tidy(() => gather(this.weight.use(), ids, 0));
  }
}
