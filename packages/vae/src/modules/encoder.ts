import * as C from '@sdxs/core';
import type { AsymmetricAutoencoderKLConfig } from '../config.js';
import { DownEncoderBlock2D } from './down-encoder-block.js';
import { UNetMidBlock2D } from './mid-block.js';

/** diffusers Encoder (double_z): conv_in → down blocks → mid block → GroupNorm → SiLU → conv_out (2 × latent channels). */
export class Encoder extends C.Module {
  readonly conv_in: C.nn.Conv2d;
  readonly down_blocks: C.ModuleList<DownEncoderBlock2D>;
  readonly mid_block: UNetMidBlock2D;
  readonly conv_norm_out: C.nn.GroupNorm;
  readonly conv_out: C.nn.Conv2d;

  constructor(c: AsymmetricAutoencoderKLConfig) {
    super();
    const ch = c.downBlockOutChannels;
    const groups = c.normNumGroups;
    this.conv_in = new C.nn.Conv2d(c.inChannels, ch[0]!, 3, { padding: 1 });
    const blocks: DownEncoderBlock2D[] = [];
    let prev = ch[0]!;
    ch.forEach((out, i) => {
      blocks.push(new DownEncoderBlock2D(prev, out, c.layersPerDownBlock, groups, i !== ch.length - 1));
      prev = out;
    });
    this.down_blocks = new C.ModuleList(blocks);
    const last = ch[ch.length - 1]!;
    this.mid_block = new UNetMidBlock2D(last, groups);
    this.conv_norm_out = new C.nn.GroupNorm(groups, last, 1e-6);
    this.conv_out = new C.nn.Conv2d(last, 2 * c.latentChannels, 3, { padding: 1 });
  }

  forward(x: C.Tensor): C.Tensor {
    return C.tidy(() => {
      let h = this.conv_in.forward(x);
      for (const b of this.down_blocks.items) h = b!.forward(h);
      h = this.mid_block.forward(h);
      return this.conv_out.forward(C.silu(this.conv_norm_out.forward(h)));
    });
  }
}
