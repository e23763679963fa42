import type { AsymmetricAutoencoderKL } from '../autoencoder.js';
import { upscale, type UpscaleOptions } from '../upscale/upscale.js';
import { formatFromPath, readImage, writeImage, type ImageFormat } from './image-io.js';

export interface UpscaleFileOptions extends UpscaleOptions {
  /** Output quality for JPEG/WebP/AVIF. */
  quality?: number;
  format?: ImageFormat;
}

/**
 * Reads an image file, upscales it 2× and writes it (atomically) with the input's ICC profile and bit
 * depth where the output format allows. Returns the output size.
 */
export async function upscaleImageFile(vae: AsymmetricAutoencoderKL, input: string, output: string, options: UpscaleFileOptions = {}): Promise<{ width: number; height: number }> {
  const img = await readImage(input, { maxPixels: options.maxInputPixels });
  const out = await upscale(vae, img, options);
  await writeImage(output, out, { icc: img.icc, quality: options.quality, format: options.format ?? formatFromPath(output) });
  return { width: out.width, height: out.height };
}
