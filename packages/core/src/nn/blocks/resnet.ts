import { tidy } from '../../engine.js';
import { add, div, silu } from '../../ops/elementwise.js';
import { reshape } from '../../ops/shape.js';
import type { Tensor } from '../../tensor.js';
import { Conv2d, GroupNorm, Linear } from '../layers.js';
import { Module } from '../module.js';

export interface ResnetBlock2DOptions {
  inChannels: number;
  outChannels?: number;
  /** time embedding width; null for the VAE's blocks (no time_emb_proj) */
  tembChannels?: number | null;
  groups?: number;
  groupsOut?: number;
  eps?: number;
  outputScaleFactor?: number;
  /** force a 1x1 shortcut even when channels match */
  useInShortcut?: boolean;
  convShortcutBias?: boolean;
}

/** diffusers ResnetBlock2D (time_embedding_norm 'default', SiLU): names norm1, conv1, time_emb_proj, norm2, conv2, conv_shortcut. */
export class ResnetBlock2D extends Module {
  readonly norm1: GroupNorm;
  readonly conv1: Conv2d;
  readonly time_emb_proj: Linear | undefined;
  readonly norm2: GroupNorm;
  readonly conv2: Conv2d;
  readonly conv_shortcut: Conv2d | undefined;
  readonly outputScaleFactor: number;

  constructor(o: ResnetBlock2DOptions) {
    super();
    const out = o.outChannels ?? o.inChannels;
    const groups = o.groups ?? 32;
    const eps = o.eps ?? 1e-6;
    this.norm1 = new GroupNorm(groups, o.inChannels, eps);
    this.conv1 = new Conv2d(o.inChannels, out, 3, { padding: 1 });
    const temb = o.tembChannels === undefined ? 512 : o.tembChannels;
    this.time_emb_proj = temb === null ? undefined : new Linear(temb, out);
    this.norm2 = new GroupNorm(o.groupsOut ?? groups, out, eps);
    this.conv2 = new Conv2d(out, out, 3, { padding: 1 });
    const shortcut = o.useInShortcut ?? o.inChannels !== out;
    this.conv_shortcut = shortcut ? new Conv2d(o.inChannels, out, 1, { bias: o.convShortcutBias ?? true }) : undefined;
    this.outputScaleFactor = o.outputScaleFactor ?? 1;
  }

  forward(x: Tensor, temb: Tensor | null = null): Tensor {
    return tidy(() => {
      let h = this.conv1.forward(silu(this.norm1.forward(x)));
      if (this.time_emb_proj && temb) {
        const t = this.time_emb_proj.forward(silu(temb));
        h = add(h, reshape(t, [t.shape[0]!, t.shape[1]!, 1, 1]));
      }
      h = this.conv2.forward(silu(this.norm2.forward(h)));
      const skip = this.conv_shortcut ? this.conv_shortcut.forward(x) : x;
      const out = add(skip, h);
      return this.outputScaleFactor === 1 ? out : div(out, this.outputScaleFactor);
    });
  }
}
