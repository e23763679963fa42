/**
 * The UNet's down, mid and up blocks, with diffusers' names: CrossAttnDownBlock2D, DownBlock2D,
 * UNetMidBlock2DCrossAttn, UpBlock2D, CrossAttnUpBlock2D. `getDownBlock` / `getUpBlock` / `getMidBlock`
 * build them from the config's block type strings, as diffusers' get_down_block does. A plain block and its
 * cross-attention twin share one implementation: the plain one has no `attentions`.
 */
import * as C from '@sdxs/core';
import type { DownBlockType, MidBlockType, UpBlockType } from './config.js';
import { Transformer2DModel } from './transformer.js';

/** What every block needs besides its channels. */
export interface BlockContext {
  tembChannels: number;
  groups: number;
  eps: number;
  heads: number;
  transformerLayers: number;
  crossAttentionDim: number;
  useLinearProjection: boolean;
}

/** Conditioning passed through every block (a tensor tree, so that a block can run under `C.checkpoint`). */
export type BlockInputs = {
  temb: C.Tensor;
  context: C.Tensor;
  /** additive bias [B, 1, 1, Sk] or null */
  contextBias: C.Tensor | null;
};

/** diffusers passes no output_scale_factor to these block types (only the mid block gets one), so it is 1 here. */
function resnet(inChannels: number, outChannels: number, k: BlockContext, outputScaleFactor = 1): C.blocks.ResnetBlock2D {
  return new C.blocks.ResnetBlock2D({ inChannels, outChannels, tembChannels: k.tembChannels, groups: k.groups, eps: k.eps, outputScaleFactor });
}

function transformer(channels: number, k: BlockContext): Transformer2DModel {
  return new Transformer2DModel({
    channels,
    heads: k.heads,
    layers: k.transformerLayers,
    crossAttentionDim: k.crossAttentionDim,
    groups: k.groups,
    useLinearProjection: k.useLinearProjection,
  });
}

/** Channels and layout of one down block (diffusers' get_down_block arguments). */
export interface DownBlockOptions {
  inChannels: number;
  outChannels: number;
  layers: number;
  addDownsample: boolean;
  downsamplePadding: number;
}

/** resnet (→ transformer) per layer, then an optional stride-2 conv. */
class DownBlockLayers extends C.Module {
  readonly resnets: C.ModuleList<C.blocks.ResnetBlock2D>;
  readonly attentions: C.ModuleList<Transformer2DModel> | undefined;
  readonly downsamplers: C.ModuleList<C.blocks.Downsample2D> | undefined;

  constructor(o: DownBlockOptions, k: BlockContext, withAttention: boolean) {
    super();
    const { outChannels: out, layers } = o;
    this.resnets = new C.ModuleList(Array.from({ length: layers }, (_, i) => resnet(i === 0 ? o.inChannels : out, out, k)));
    this.attentions = withAttention ? new C.ModuleList(Array.from({ length: layers }, () => transformer(out, k))) : undefined;
    this.downsamplers = o.addDownsample ? new C.ModuleList([new C.blocks.Downsample2D(out, out, o.downsamplePadding)]) : undefined;
  }

  /** Returns the block output and the states it hands to the up path (one per layer, plus the downsampled one). */
  forward(x: C.Tensor, inp: BlockInputs): { hidden: C.Tensor; states: C.Tensor[] } {
    return C.tidy(() => {
      const states: C.Tensor[] = [];
      let h = x;
      for (let i = 0; i < this.resnets.length; i++) {
        h = this.resnets.at(i).forward(h, inp.temb);
        if (this.attentions) h = this.attentions.at(i).forward(h, inp.context, inp.contextBias);
        states.push(h);
      }
      if (this.downsamplers) {
        h = this.downsamplers.at(0).forward(h);
        states.push(h);
      }
      return { hidden: h, states };
    });
  }
}

/** diffusers CrossAttnDownBlock2D: resnet → transformer per layer, then an optional stride-2 conv. */
export class CrossAttnDownBlock2D extends DownBlockLayers {
  declare readonly attentions: C.ModuleList<Transformer2DModel>;
  constructor(o: DownBlockOptions, k: BlockContext) {
    super(o, k, true);
  }
}

/** diffusers DownBlock2D: resnets only, then an optional stride-2 conv. */
export class DownBlock2D extends DownBlockLayers {
  declare readonly attentions: undefined;
  constructor(o: DownBlockOptions, k: BlockContext) {
    super(o, k, false);
  }
}

/** diffusers UNetMidBlock2DCrossAttn (num_layers 1): resnet → transformer (transformerLayers deep) → resnet. */
export class UNetMidBlock2DCrossAttn extends C.Module {
  readonly attentions: C.ModuleList<Transformer2DModel>;
  readonly resnets: C.ModuleList<C.blocks.ResnetBlock2D>;

  constructor(channels: number, outputScaleFactor: number, k: BlockContext) {
    super();
    this.attentions = new C.ModuleList([transformer(channels, k)]);
    this.resnets = new C.ModuleList([resnet(channels, channels, k, outputScaleFactor), resnet(channels, channels, k, outputScaleFactor)]);
  }

  forward(x: C.Tensor, inp: BlockInputs): C.Tensor {
    return C.tidy(() => {
      let h = this.resnets.at(0).forward(x, inp.temb);
      for (let i = 0; i < this.attentions.length; i++) {
        h = this.attentions.at(i).forward(h, inp.context, inp.contextBias);
        h = this.resnets.at(i + 1).forward(h, inp.temb);
      }
      return h;
    });
  }
}

/** Channels and layout of one up block (diffusers' get_up_block arguments). */
export interface UpBlockOptions {
  inChannels: number;
  prevOutputChannels: number;
  outChannels: number;
  layers: number;
  addUpsample: boolean;
}

/**
 * Per layer, concat [h, skip] on channels → resnet (→ transformer); then an optional nearest upsample to the
 * next skip's size + 3x3 conv.
 */
class UpBlockLayers extends C.Module {
  readonly resnets: C.ModuleList<C.blocks.ResnetBlock2D>;
  readonly attentions: C.ModuleList<Transformer2DModel> | undefined;
  readonly upsamplers: C.ModuleList<C.blocks.Upsample2D> | undefined;

  constructor(o: UpBlockOptions, k: BlockContext, withAttention: boolean) {
    super();
    const { outChannels: out, layers } = o;
    this.resnets = new C.ModuleList(
      Array.from({ length: layers }, (_, i) => {
        const skip = i === layers - 1 ? o.inChannels : out;
        const input = i === 0 ? o.prevOutputChannels : out;
        return resnet(input + skip, out, k);
      }),
    );
    this.attentions = withAttention ? new C.ModuleList(Array.from({ length: layers }, () => transformer(out, k))) : undefined;
    this.upsamplers = o.addUpsample ? new C.ModuleList([new C.blocks.Upsample2D(out, out)]) : undefined;
  }

  /** `skips` are consumed from the end; `upsampleSize` is the spatial size of the next skip. */
  forward(x: C.Tensor, skips: readonly C.Tensor[], inp: BlockInputs, upsampleSize: [number, number] | undefined): C.Tensor {
    return C.tidy(() => {
      let h = x;
      for (let i = 0; i < this.resnets.length; i++) {
        const skip = skips[skips.length - 1 - i]!;
        h = this.resnets.at(i).forward(C.concat([h, skip], 1), inp.temb);
        if (this.attentions) h = this.attentions.at(i).forward(h, inp.context, inp.contextBias);
      }
      if (this.upsamplers) h = this.upsamplers.at(0).forward(h, upsampleSize);
      return h;
    });
  }
}

/** diffusers CrossAttnUpBlock2D: per layer concat the skip → resnet → transformer; then an optional upsample. */
export class CrossAttnUpBlock2D extends UpBlockLayers {
  declare readonly attentions: C.ModuleList<Transformer2DModel>;
  constructor(o: UpBlockOptions, k: BlockContext) {
    super(o, k, true);
  }
}

/** diffusers UpBlock2D: per layer concat the skip → resnet; then an optional upsample. */
export class UpBlock2D extends UpBlockLayers {
  declare readonly attentions: undefined;
  constructor(o: UpBlockOptions, k: BlockContext) {
    super(o, k, false);
  }
}

export type AnyDownBlock = CrossAttnDownBlock2D | DownBlock2D;
export type AnyUpBlock = CrossAttnUpBlock2D | UpBlock2D;

/** The block class of each type string, one entry per type the config accepts (a new type must add one). */
const DOWN_BLOCKS: { [T in DownBlockType]: new (o: DownBlockOptions, k: BlockContext) => AnyDownBlock } = { CrossAttnDownBlock2D, DownBlock2D };
const UP_BLOCKS: { [T in UpBlockType]: new (o: UpBlockOptions, k: BlockContext) => AnyUpBlock } = { CrossAttnUpBlock2D, UpBlock2D };
const MID_BLOCKS: { [T in MidBlockType]: typeof UNetMidBlock2DCrossAttn } = { UNetMidBlock2DCrossAttn };

function lookup<T>(table: Record<string, T>, key: string, type: string): T {
  if (!Object.prototype.hasOwnProperty.call(table, type)) {
    throw new C.ConfigError(`unsupported: ${key}=${C.previewValue(type)} (known: ${Object.keys(table).join(', ')})`);
  }
  return table[type]!;
}

/** diffusers' get_down_block: the down block of a `down_block_types` entry (an unknown type is a ConfigError naming it). */
export function getDownBlock(type: string, o: DownBlockOptions, k: BlockContext): AnyDownBlock {
  return new (lookup(DOWN_BLOCKS, 'down_block_types', type))(o, k);
}
/** diffusers' get_up_block: the up block of an `up_block_types` entry. */
export function getUpBlock(type: string, o: UpBlockOptions, k: BlockContext): AnyUpBlock {
  return new (lookup(UP_BLOCKS, 'up_block_types', type))(o, k);
}
/** diffusers' get_mid_block: the mid block of `mid_block_type`. */
export function getMidBlock(type: string, channels: number, outputScaleFactor: number, k: BlockContext): UNetMidBlock2DCrossAttn {
  return new (lookup(MID_BLOCKS, 'mid_block_type', type))(channels, outputScaleFactor, k);
}

/** @deprecated Use CrossAttnDownBlock2D / DownBlock2D (or getDownBlock with the config's type). */
export class DownBlock extends DownBlockLayers {
  constructor(o: DownBlockOptions & { withAttention: boolean }, k: BlockContext) {
    super(o, k, o.withAttention);
  }
}
/** @deprecated Use UNetMidBlock2DCrossAttn. */
export const MidBlock = UNetMidBlock2DCrossAttn;
/** @deprecated Use UNetMidBlock2DCrossAttn. */
export type MidBlock = UNetMidBlock2DCrossAttn;
/** @deprecated Use CrossAttnUpBlock2D / UpBlock2D (or getUpBlock with the config's type). */
export class UpBlock extends UpBlockLayers {
  constructor(o: UpBlockOptions & { withAttention: boolean }, k: BlockContext) {
    super(o, k, o.withAttention);
  }
}
