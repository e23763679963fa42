import * as C from '@sdxs/core';

/**
 * diffusers UNetMidBlock2D as the VAE uses it (no time embedding, one layer): resnets.0 →
 * attentions.0 (single head over all pixels, GroupNorm first, residual) → resnets.1.
 */
export class UNetMidBlock2D extends C.Module {
  readonly resnets: C.ModuleList<C.blocks.ResnetBlock2D>;
  readonly attentions: C.ModuleList<C.blocks.Attention>;

  constructor(channels: number, groups: number, eps = 1e-6) {
    super();
    const resnet = (): C.blocks.ResnetBlock2D => new C.blocks.ResnetBlock2D({ inChannels: channels, tembChannels: null, groups, eps });
    this.resnets = new C.ModuleList([resnet(), resnet()]);
    this.attentions = new C.ModuleList([
      new C.blocks.Attention({
        queryDim: channels,
        heads: 1,
        dimHead: channels,
        bias: true,
        outBias: true,
        normNumGroups: groups,
        eps,
        residualConnection: true,
      }),
    ]);
  }

  forward(x: C.Tensor): C.Tensor {
    return C.tidy(() => {
      let h = this.resnets.at(0).forward(x);
      h = this.attentions.at(0).forward(h);
      return this.resnets.at(1).forward(h);
    });
  }
}
