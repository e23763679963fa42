import * as C from '@sdxs/core';
import { encodePng } from './png.js';

/** An 8-bit RGB image in memory (interleaved, row-major). */
export interface RgbImage {
  width: number;
  height: number;
  channels: 3;
  data: Uint8Array;
}

/** [B, 3, H, W] in [-1, 1] → B images in [0, 1] as planar float arrays, the reference's (clamp(x) + 1) / 2. */
export function toUnitRange(x: C.Tensor): C.Tensor {
  return C.tidy(() => C.div(C.add(C.clamp(x, -1, 1), 1), 2));
}

/** Planar [3, H, W] floats in [0, 1] → interleaved 8-bit RGB (round to nearest, like PIL's numpy path ×255 then round). */
export function planarToRgb8(planar: Float32Array, width: number, height: number): RgbImage {
  const n = width * height;
  const data = new Uint8Array(n * 3);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < n; i++) {
      const v = planar[c * n + i]!;
      data[i * 3 + c] = Math.round(Math.min(1, Math.max(0, v)) * 255);
    }
  }
  return { width, height, channels: 3, data };
}

/** Interleaved RGB(A) 8-bit → [1, 3, H, W] tensor in [-1, 1] (alpha dropped). */
export function rgb8ToTensor(img: { width: number; height: number; channels: number; data: Uint8Array | Uint8ClampedArray }): C.Tensor {
  const { width, height, channels, data } = img;
  const n = width * height;
  const out = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) out[c * n + i] = (data[i * channels + c]! / 255) * 2 - 1;
  return C.tensor(out, [1, 3, height, width]);
}

/** One generated image with what made it. */
export class GeneratedImage {
  constructor(
    /** [3, H, W] planar floats in [0, 1] (the exact decoder output) */
    readonly planar: Float32Array,
    readonly width: number,
    readonly height: number,
    /** generation parameters, written into the PNG's text chunks */
    readonly parameters: Record<string, string | number | boolean>,
  ) {}

  toRgb8(): RgbImage {
    return planarToRgb8(this.planar, this.width, this.height);
  }

  /** PNG bytes with the parameters in its text metadata (key `parameters`, JSON, plus one key each). */
  toPng(): Promise<Uint8Array> {
    const text: Record<string, string> = { parameters: JSON.stringify(this.parameters), Software: 'sdxs-ts' };
    for (const [k, v] of Object.entries(this.parameters)) text[k] = String(v);
    return encodePng(this.toRgb8(), text);
  }
}
