import path from 'node:path';
import type { AsymmetricAutoencoderKL } from '../autoencoder.js';
import { upscale, type UpscaleOptions } from '../upscale/upscale.js';
import { ImageError } from './image-error.js';
import { formatFromPath, MULTI_FRAME_FORMATS, outputSizeProblem, readImageFrames, writeImageFrames, type ImageFormat } from './image-io.js';

export interface UpscaleFileOptions extends UpscaleOptions {
  /** Output quality for JPEG/WebP/AVIF. */
  quality?: number;
  format?: ImageFormat;
  /** Refuse input files larger than this, in bytes, before reading them (default: from maxInputPixels). */
  maxInputBytes?: number;
}

/**
 * Reads an image file, upscales it 2× and writes it (atomically) with the input's ICC profile and bit
 * depth where the output format allows. Every frame of an animated WebP and every page of a multi-page
 * TIFF is upscaled into an animated WebP / multi-page TIFF with the same timing; an output format that
 * holds one frame is refused for them. Whether the output format can hold the result is checked before
 * any computing. Returns the output size (of one frame) and the frame count.
 */
export async function upscaleImageFile(
  vae: AsymmetricAutoencoderKL,
  input: string,
  output: string,
  options: UpscaleFileOptions = {},
): Promise<{ width: number; height: number; frames: number }> {
  const format = options.format ?? formatFromPath(output);
  if (!format) throw new ImageError(output, 'unsupported', `cannot tell the output format from '${path.extname(output) || output}'; use .png, .jpg, .webp, .avif or .tiff`);
  const img = await readImageFrames(input, { maxPixels: options.maxInputPixels, maxBytes: options.maxInputBytes });
  if (img.frames.length > 1 && !MULTI_FRAME_FORMATS.includes(format)) {
    throw new ImageError(
      output,
      'unsupported',
      `'${input}' has ${img.frames.length} frames but ${format.toUpperCase()} holds one; write ${MULTI_FRAME_FORMATS.map((f) => `.${f}`).join(' or ')} to upscale them all`,
    );
  }
  const f = vae.upscaleFactor;
  const tooLarge = outputSizeProblem(format, img.width * f, img.height * f);
  if (tooLarge) throw new ImageError(output, 'too-large', tooLarge);
  const outs = [];
  for (const frame of img.frames) outs.push(await upscale(vae, frame, options));
  await writeImageFrames(output, outs, { icc: img.icc, quality: options.quality, format, delay: img.delay, loop: img.loop });
  return { width: outs[0]!.width, height: outs[0]!.height, frames: outs.length };
}
