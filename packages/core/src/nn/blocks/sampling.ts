import { tidy } from '../../engine.js';
import { upsampleNearest2d } from '../../ops/conv.js';
import { pad } from '../../ops/shape.js';
import type { Tensor } from '../../tensor.js';
import { Conv2d } from '../layers.js';
import { Module } from '../module.js';

/**
 * diffusers Downsample2D with a conv: 3x3 stride 2. With padding 0 (the VAE encoder) the input is first
 * padded right and bottom by one, as the reference does.
 */
export class Downsample2D extends Module {
  readonly conv: Conv2d;
  constructor(channels: number, outChannels = channels, readonly padding = 1) {
    super();
    this.conv = new Conv2d(channels, outChannels, 3, { stride: 2, padding });
  }
  forward(x: Tensor): Tensor {
    return tidy(() => this.conv.forward(this.padding === 0 ? pad(x, [[0, 1], [0, 1]]) : x));
  }
}

/** diffusers Upsample2D with a conv: nearest 2x (or to `outputSize`), then 3x3 conv. */
export class Upsample2D extends Module {
  readonly conv: Conv2d;
  constructor(channels: number, outChannels = channels) {
    super();
    this.conv = new Conv2d(channels, outChannels, 3, { padding: 1 });
  }
  forward(x: Tensor, outputSize?: [number, number]): Tensor {
    return tidy(() => this.conv.forward(upsampleNearest2d(x, outputSize ?? 2)));
  }
}
