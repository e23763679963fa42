import { tidy } from '../engine.js';
import { gather } from '../ops/shape.js';
import { conv2d, type Conv2dOptions } from '../ops/conv.js';
import { linear } from '../ops/linalg.js';
import { groupNorm, layerNorm, rmsNorm } from '../ops/norm.js';
import type { Tensor } from '../tensor.js';
import { Module } from './module.js';
import { Parameter } from './parameter.js';

export class Linear extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | undefined;
  constructor(readonly inFeatures: number, readonly outFeatures: number, bias = true) {
    super();
    this.weight = new Parameter([outFeatures, inFeatures]);
    this.bias = bias ? new Parameter([outFeatures]) : undefined;
  }
  forward(x: Tensor): Tensor {
    return tidy(() => linear(x, this.weight.use(), this.bias?.use()));
  }
}

export class Conv2d extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | undefined;
  readonly options: Conv2dOptions;
  constructor(inChannels: number, outChannels: number, kernelSize: number | [number, number], opts: Conv2dOptions & { bias?: boolean } = {}) {
    super();
    const [kh, kw] = typeof kernelSize === 'number' ? [kernelSize, kernelSize] : kernelSize;
    const groups = opts.groups ?? 1;
    this.weight = new Parameter([outChannels, inChannels / groups, kh, kw]);
    this.bias = opts.bias === false ? undefined : new Parameter([outChannels]);
    this.options = { stride: opts.stride ?? 1, padding: opts.padding ?? 0, dilation: opts.dilation ?? 1, groups };
  }
  forward(x: Tensor): Tensor {
    return tidy(() => conv2d(x, this.weight.use(), this.bias?.use() ?? null, this.options));
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
