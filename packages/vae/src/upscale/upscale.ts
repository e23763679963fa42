/**
 * The 2× upscaler: encode to the posterior mean, decode. Deterministic (no sampling), so identical
 * frames give identical outputs.
 */
import * as C from '@sdxs/core';
import { DEFAULT_MAX_IMAGE_PIXELS } from '../image-limits.js';
import type { AsymmetricAutoencoderKL } from '../autoencoder.js';
import { cropTopLeft, padReflect, roundUp } from './pad.js';
import { ProgressTracker, type ProgressCallback } from './progress.js';
import { checkRaster, fromPlanar, toPlanar, type Raster, type SampleArray } from './raster.js';
import { resizeBilinear } from './resize.js';
import { countTiles, decodeTiled, encodeTiled, passesFor, type NormStatsPolicy } from './tiled.js';

/**
 * Tile defaults. A 256-pixel input tile becomes a 32×32 latent and a 512×512 decoded tile; with the
 * SDXS config the largest activation is then 128 channels × 512² floats (128 MiB; the reference cpu
 * backend's im2col buffer for that conv is 9× that), so peak memory stays around 2 GiB on the CPU
 * backend whatever the image size. Overlap 64 pixels (8 latent pixels, 128 output pixels) of linear
 * blending hides the seams. Larger tiles are closer to the untiled result and need more memory.
 */
export const DEFAULT_TILE = 256;
export const DEFAULT_OVERLAP = 64;
/** Inputs above this many pixels are refused (the host output buffers grow with the image: ~60 bytes per input pixel); the same limit as image reading. */
export const DEFAULT_MAX_INPUT_PIXELS = DEFAULT_MAX_IMAGE_PIXELS;

export interface UpscaleOptions {
  /** Tile edge in input pixels (multiple of 8); 0 disables tiling. Default 256. */
  tile?: number;
  /** Overlap between tiles in input pixels (multiple of 8, < tile). Default 64. */
  overlap?: number;
  /** How the alpha channel is resized: 'bilinear' (default) or 'nearest'. */
  alphaResize?: 'bilinear' | 'nearest';
  maxInputPixels?: number;
  /**
   * GroupNorm statistics when tiling, per stage: 'shared' runs a recording pass over the tiles first so
   * that every tile is normalised with whole-image statistics (about 2x the work of that stage, far
   * closer to the untiled result); 'tile' normalises each tile by itself. Default 'tile' for both (on the random-weight fixture 'shared' did not measurably reduce the tiled-vs-untiled error).
   */
  normStats?: { encode?: NormStatsPolicy; decode?: NormStatsPolicy };
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
}

function resizeAlpha(a: Float32Array, h: number, w: number, f: number, mode: 'bilinear' | 'nearest'): Float32Array {
  if (mode === 'bilinear') return resizeBilinear(a, h, w, h * f, w * f);
  const out = new Float32Array(h * f * w * f);
  for (let y = 0; y < h * f; y++) for (let x = 0; x < w * f; x++) out[y * w * f + x] = a[Math.floor(y / f) * w + Math.floor(x / f)]!;
  return out;
}

/**
 * Upscales images of one size together (a batch through the model, e.g. video frames). Each output is
 * exactly factor·W × factor·H (2× for SDXS) with the input's sample type and channel count.
 */
export async function upscaleBatch<T extends SampleArray>(vae: AsymmetricAutoencoderKL, inputs: readonly Raster<T>[], options: UpscaleOptions = {}): Promise<Raster<T>[]> {
  if (inputs.length === 0) return [];
  const first = inputs[0]!;
  inputs.forEach((img, i) => {
    checkRaster(img, inputs.length > 1 ? `image ${i}` : 'image');
    if (img.width !== first.width || img.height !== first.height) throw new C.InputError(`batched images must share one size: ${img.width}x${img.height} vs ${first.width}x${first.height}`);
  });
  if (vae.config.inChannels !== 3 || vae.config.outChannels !== 3) throw new C.InputError('the upscaler needs an RGB model (in_channels = out_channels = 3)');
  const maxPx = options.maxInputPixels ?? DEFAULT_MAX_INPUT_PIXELS;
  const { width: w, height: h } = first;
  if (w * h > maxPx) throw new C.InputError(`image ${w}x${h} has ${w * h} pixels, over the limit of ${maxPx} (maxInputPixels)`);
  const tile = options.tile ?? DEFAULT_TILE;
  const overlap = Math.min(options.overlap ?? DEFAULT_OVERLAP, Math.max(0, tile - vae.encoderScale));
  const f = vae.upscaleFactor;
  if (!Number.isInteger(f) || f < 1) throw new C.ConfigError(`this VAE's decode/encode scale ratio is ${f}, not a whole upscale factor`);

  // Pad to the encoder's multiple by reflection; crop the decoded result back.
  const s = vae.encoderScale;
  const H = roundUp(h, s);
  const W = roundUp(w, s);
  const n = inputs.length;
  const planes = inputs.map((img) => toPlanar(img));
  const batch = new Float32Array(n * 3 * H * W);
  planes.forEach((p, i) => batch.set(padReflect(p.rgb, 3, h, w, H, W), i * 3 * H * W));

  const tiles = tile === 0 ? 1 : countTiles(vae, H, W, { tile, overlap });
  const encStats = options.normStats?.encode ?? 'tile';
  const decStats = options.normStats?.decode ?? 'tile';
  const tracker = new ProgressTracker({ encode: tiles * passesFor(encStats, tiles), decode: tiles * passesFor(decStats, tiles) }, options.onProgress);
  const step = { tile, overlap, signal: options.signal, tracker };
  const latent = await encodeTiled(vae, batch, [n, 3, H, W], { ...step, normStats: encStats });
  const decoded = await decodeTiled(vae, latent, [n, vae.config.latentChannels, H / s, W / s], { ...step, normStats: decStats });

  const oh = h * f;
  const ow = w * f;
  const OH = H * f;
  const OW = W * f;
  return planes.map((p, i) => {
    const rgb = cropTopLeft(decoded.subarray(i * 3 * OH * OW, (i + 1) * 3 * OH * OW), 3, OH, OW, oh, ow);
    const alpha = p.alpha ? resizeAlpha(p.alpha, h, w, f, options.alphaResize ?? 'bilinear') : undefined;
    return fromPlanar(rgb, alpha, ow, oh, first.data);
  });
}

/** Upscales one RGB(A) image 2× (for SDXS). See `upscaleBatch`. */
export async function upscale<T extends SampleArray>(vae: AsymmetricAutoencoderKL, input: Raster<T>, options: UpscaleOptions = {}): Promise<Raster<T>> {
  const [out] = await upscaleBatch(vae, [input], options);
  return out!;
}
