import * as C from '@sdxs/core';

/** diffusers DownEncoderBlock2D: `layers` resnets, then (except in the last block) a pad-then-stride-2 downsample. */
export class DownEncoderBlock2D extends C.Module {
  readonly resnets: C.ModuleList<C.blocks.ResnetBlock2D>;
  readonly downsamplers: C.ModuleList<C.blocks.Downsample2D> | undefined;

  constructor(inChannels: number, outChannels: number, layers: number, groups: number, addDownsample: boolean) {
    super();
    const resnets: C.blocks.ResnetBlock2D[] = [];
    for (let i = 0; i < layers; i++) {
      resnets.push(new C.blocks.ResnetBlock2D({ inChannels: i === 0 ? inChannels : outChannels, outChannels, tembChannels: null, groups, eps: 1e-6 }));
    }
    this.resnets = new C.ModuleList(resnets);
    // padding 0: the input is padded (right 1, bottom 1) before the 3x3 stride-2 conv, as in diffusers.
    this.downsamplers = addDownsample ? new C.ModuleList([new C.blocks.Downsample2D(outChannels, outChannels, 0)]) : undefined;
  }

  forward(x: C.Tensor): C.Tensor {
    return C.tidy(() => {
      let h = x;
      for (const r of this.resnets.items) h = r!.forward(h);
      if (this.downsamplers) h = this.downsamplers.at(0).forward(h);
      return h;
    });
  }
}
