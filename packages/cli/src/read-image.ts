import { readImage } from '@sdxs/vae/node';
import { imageLimitsFromEnv } from '@sdxs/vae';

/** The image limits from the environment: SDXS_MAX_IMAGE_PIXELS, and SDXS_MAX_IMAGE_BYTES (default derived from the pixel limit). */
export const imageLimitsFrom = (env: NodeJS.ProcessEnv): { maxPixels: number; maxBytes: number } => imageLimitsFromEnv(env);

/**
 * An input image file as 8-bit RGB(A) (the VAE package's reader: PNG, JPEG, WebP, AVIF, TIFF, EXIF
 * orientation applied, grayscale/CMYK converted; a typed ImageError for anything it cannot read,
 * devices and FIFOs included). The limits come from `env` (imageLimitsFrom). An animated WebP or a
 * multi-page TIFF gives its first frame, and `warn` is told so.
 */
export async function readInputImage(
  file: string,
  env: NodeJS.ProcessEnv = {},
  warn: (message: string) => void = () => {},
): Promise<{ width: number; height: number; channels: 3 | 4; data: Uint8Array }> {
  const img = await readImage(file, imageLimitsFrom(env));
  if (img.pages > 1) warn(`'${file}' has ${img.pages} frames or pages; only the first is used`);
  const data = img.data instanceof Uint16Array ? Uint8Array.from(img.data, (x) => Math.round(x / 257)) : img.data;
  return { width: img.width, height: img.height, channels: img.channels, data };
}
