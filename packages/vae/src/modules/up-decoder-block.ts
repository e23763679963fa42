import * as C from '@sdxs/core';

/** diffusers UpDecoderBlock2D: `layers` resnets, then (except in the last block) nearest 2x upsample + 3x3 conv. */
export class UpDecoderBlock2D extends C.Module {
  readonly resnets: C.ModuleList<C.blocks.ResnetBlock2D>;
  readonly upsamplers: C.ModuleList<C.blocks.Upsample2D> | undefined;

  constructor(inChannels: number, outChannels: number, layers: number, groups: number, addUpsample: boolean) {
    super();
    const resnets: C.blocks.ResnetBlock2D[] = [];
    for (let i = 0; i < layers; i++) {
      resnets.push(new C.blocks.ResnetBlock2D({ inChannels: i === 0 ? inChannels : outChannels, outChannels, tembChannels: null, groups, eps: 1e-6 }));
    }
    this.resnets = new C.ModuleList(resnets);
    this.upsamplers = addUpsample ? new C.ModuleList([new C.blocks.Upsample2D(outChannels, outChannels)]) : undefined;
  }

  forward(x: C.Tensor): C.Tensor {
    return C.tidy(() => {
      let h = x;
      for (const r of this.resnets.items) h = r!.forward(h);
      if (this.upsamplers) h = this.upsamplers.at(0).forward(h);
      return h;
    });
  }
}
