import * as C from '@sdxs/core';
import type { AsymmetricAutoencoderKLConfig } from '../config.js';
import { MaskConditionEncoder } from './mask-condition-encoder.js';
import { UNetMidBlock2D } from './mid-block.js';
import { UpDecoderBlock2D } from './up-decoder-block.js';

/**
 * diffusers MaskConditionDecoder without an image/mask (the only way the upscaler and the pipeline use
 * it): conv_in → mid block → up blocks (layers + 1 resnets each) → GroupNorm → SiLU → conv_out.
 */
export class MaskConditionDecoder extends C.Module {
  readonly conv_in: C.nn.Conv2d;
  readonly up_blocks: C.ModuleList<UpDecoderBlock2D>;
  readonly mid_block: UNetMidBlock2D;
  readonly condition_encoder: MaskConditionEncoder;
  readonly conv_norm_out: C.nn.GroupNorm;
  readonly conv_out: C.nn.Conv2d;

  constructor(c: AsymmetricAutoencoderKLConfig) {
    super();
    const ch = c.upBlockOutChannels;
    const groups = c.normNumGroups;
    const last = ch[ch.length - 1]!;
    this.conv_in = new C.nn.Conv2d(c.latentChannels, last, 3, { padding: 1 });
    this.mid_block = new UNetMidBlock2D(last, groups);
    const reversed = [...ch].reverse();
    const blocks: UpDecoderBlock2D[] = [];
    let prev = reversed[0]!;
    reversed.forEach((out, i) => {
      blocks.push(new UpDecoderBlock2D(prev, out, c.layersPerUpBlock + 1, groups, i !== ch.length - 1));
      prev = out;
    });
    this.up_blocks = new C.ModuleList(blocks);
    this.condition_encoder = new MaskConditionEncoder(c.outChannels, ch[0]!, last);
    this.conv_norm_out = new C.nn.GroupNorm(groups, ch[0]!, 1e-6);
    this.conv_out = new C.nn.Conv2d(ch[0]!, c.outChannels, 3, { padding: 1 });
  }

  forward(z: C.Tensor): C.Tensor {
    return C.tidy(() => {
      let h = this.conv_in.forward(z);
      h = this.mid_block.forward(h);
      for (const b of this.up_blocks.items) h = b!.forward(h);
      return this.conv_out.forward(C.silu(this.conv_norm_out.forward(h)));
    });
  }
}
