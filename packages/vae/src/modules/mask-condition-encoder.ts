import * as C from '@sdxs/core';

/**
 * diffusers MaskConditionEncoder (inside MaskConditionDecoder as `condition_encoder`). It conditions
 * the decoder on a masked image for inpainting; the upscaler and the pipeline never pass one, so only
 * its parameters exist here (loaded with the checkpoint so that loading stays strict) and it has no forward.
 */
export class MaskConditionEncoder extends C.Module {
  readonly layers: C.ModuleList<C.nn.Conv2d>;

  constructor(inCh: number, outCh: number, resCh: number, stride = 16) {
    super();
    // The channel walk of the reference: halve the stride until 1, doubling the width (capped at resCh).
    const pairs: [number, number][] = [];
    let out = outCh;
    for (let s = stride; s > 1; ) {
      s = Math.floor(s / 2);
      let inner = out * 2;
      if (out > resCh) out = resCh;
      if (s === 1) inner = resCh;
      pairs.push([inner, out]);
      out *= 2;
    }
    const widths = [...pairs.map(([, o]) => o), pairs[pairs.length - 1]![0]];
    const layers: C.nn.Conv2d[] = [];
    let prev = inCh;
    widths.forEach((w, l) => {
      layers.push(l < 2 ? new C.nn.Conv2d(prev, w, 3, { stride: 1, padding: 1 }) : new C.nn.Conv2d(prev, w, 4, { stride: 2, padding: 1 }));
      prev = w;
    });
    this.layers = new C.ModuleList(layers);
  }
}
