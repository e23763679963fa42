/**
 * Interleaved (HWC) images as plain typed arrays, the common ground of sharp's raw buffers, the
 * browser's ImageData and ffmpeg's rgb24 frames. Sample ranges follow the array type: 8-bit 0..255,
 * 16-bit 0..65535, float 0..1.
 */
import * as C from '@sdxs/core';

export type SampleArray = Uint8Array | Uint8ClampedArray | Uint16Array | Float32Array;

export interface Raster<T extends SampleArray = SampleArray> {
  width: number;
  height: number;
  /** 3 = RGB, 4 = RGBA (straight, not premultiplied alpha). */
  channels: 3 | 4;
  data: T;
}

/** Largest sample value of an array type (1 for float). */
export function sampleMax(data: SampleArray): number {
  if (data instanceof Float32Array) return 1;
  return data instanceof Uint16Array ? 65535 : 255;
}

/** An empty array of the same kind as `like`. */
export function allocLike<T extends SampleArray>(like: T, length: number): T {
  const Ctor = like.constructor as new (n: number) => T;
  return new Ctor(length);
}

export function checkRaster(img: Raster, what = 'image'): void {
  const { width, height, channels, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new C.InputError(`${what} has invalid dimensions ${width}x${height}: width and height must be positive integers`);
  }
  if (channels !== 3 && channels !== 4) throw new C.InputError(`${what} has ${String(channels)} channels; expected 3 (RGB) or 4 (RGBA)`);
  if (data.length !== width * height * channels) {
    throw new C.InputError(`${what}: data has ${data.length} samples but ${width}x${height}x${channels} needs ${width * height * channels}`);
  }
}

/**
 * RGB planes in [-1, 1] ([3, H, W] planar) and, for RGBA, the alpha plane in [0, 1].
 */
export function toPlanar(img: Raster): { rgb: Float32Array; alpha: Float32Array | undefined } {
  const { width: w, height: h, channels: ch, data } = img;
  const n = w * h;
  const scale = 2 / sampleMax(data);
  const rgb = new Float32Array(3 * n);
  const alpha = ch === 4 ? new Float32Array(n) : undefined;
  const inv = 1 / sampleMax(data);
  for (let i = 0; i < n; i++) {
    const o = i * ch;
    rgb[i] = data[o]! * scale - 1;
    rgb[n + i] = data[o + 1]! * scale - 1;
    rgb[2 * n + i] = data[o + 2]! * scale - 1;
    if (alpha) alpha[i] = data[o + 3]! * inv;
  }
  return { rgb, alpha };
}

/** Interleaves [3, H, W] planes in [-1, 1] (clamped) and an optional alpha plane in [0, 1] into `like`'s sample type. */
export function fromPlanar<T extends SampleArray>(rgb: Float32Array, alpha: Float32Array | undefined, width: number, height: number, like: T): Raster<T> {
  const n = width * height;
  const ch = alpha ? 4 : 3;
  const out = allocLike(like, n * ch);
  const max = sampleMax(like);
  const float = like instanceof Float32Array;
  const q = (u: number): number => {
    const c = u < 0 ? 0 : u > 1 ? 1 : u;
    return float ? c : Math.round(c * max);
  };
  for (let i = 0; i < n; i++) {
    const o = i * ch;
    out[o] = q((rgb[i]! + 1) / 2);
    out[o + 1] = q((rgb[n + i]! + 1) / 2);
    out[o + 2] = q((rgb[2 * n + i]! + 1) / 2);
    if (alpha) out[o + 3] = q(alpha[i]!);
  }
  return { width, height, channels: ch, data: out };
}
