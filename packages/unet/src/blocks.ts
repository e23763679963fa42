/**
 * The UNet's down, mid and up blocks (diffusers CrossAttnDownBlock2D, DownBlock2D, UNetMidBlock2DCrossAttn,
 * CrossAttnUpBlock2D, UpBlock2D). A block without `attentions` is the plain variant.
 */
import * as C from '@sdxs/core';
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

/** Conditioning passed through every block. */
export interface BlockInputs {
  temb: C.Tensor;
  context: C.Tensor;
  /** additive bias [B, 1, 1, Sk] or null */
  contextBias: C.Tensor | null;
}

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

/** CrossAttnDownBlock2D (withAttention) or DownBlock2D: resnet (→ transformer) per layer, then an optional stride-2 conv. */
export class DownBlock extends C.Module {
  readonly resnets: C.ModuleList<C.blocks.ResnetBlock2D>;
  readonly attentions: C.ModuleList<Transformer2DModel> | undefined;
  readonly downsamplers: C.ModuleList<C.blocks.Downsample2D> | undefined;

  constructor(o: { inChannels: number; outChannels: number; layers: number; withAttention: boolean; addDownsample: boolean; downsamplePadding: number }, k: BlockContext) {
    super();
    const { outChannels: out, layers } = o;
    this.resnets = new C.ModuleList(Array.from({ length: layers }, (_, i) => resnet(i === 0 ? o.inChannels : out, out, k)));
    this.attentions = o.withAttention ? new C.ModuleList(Array.from({ length: layers }, () => transformer(out, k))) : undefined;
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

/** UNetMidBlock2DCrossAttn (num_layers 1): resnet → transformer (transformerLayers deep) → resnet. */
export class MidBlock extends C.Module {
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

/**
 * CrossAttnUpBlock2D (withAttention) or UpBlock2D: per layer, concat [h, skip] on channels → resnet
 * (→ transformer); then an optional nearest upsample to the next skip's size + 3x3 conv.
 */
export class UpBlock extends C.Module {
  readonly resnets: C.ModuleList<C.blocks.ResnetBlock2D>;
  readonly attentions: C.ModuleList<Transformer2DModel> | undefined;
  readonly upsamplers: C.ModuleList<C.blocks.Upsample2D> | undefined;

  constructor(o: { inChannels: number; prevOutputChannels: number; outChannels: number; layers: number; withAttention: boolean; addUpsample: boolean }, k: BlockContext) {
    super();
    const { outChannels: out, layers } = o;
    this.resnets = new C.ModuleList(
      Array.from({ length: layers }, (_, i) => {
        const skip = i === layers - 1 ? o.inChannels : out;
        const input = i === 0 ? o.prevOutputChannels : out;
        return resnet(input + skip, out, k);
      }),
    );
    this.attentions = o.withAttention ? new C.ModuleList(Array.from({ length: layers }, () => transformer(out, k))) : undefined;
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
