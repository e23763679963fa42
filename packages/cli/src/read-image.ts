import { readImage } from '@sdxs/vae/node';
import { maxImagePixelsFrom, MAX_IMAGE_PIXELS_ENV } from '@sdxs/vae';

/**
 * An input image file as 8-bit RGB(A) (the VAE package's reader: PNG, JPEG, WebP, AVIF, TIFF, EXIF
 * orientation applied, grayscale/CMYK converted; a typed ImageError for anything it cannot read). The
 * size limit comes from SDXS_MAX_IMAGE_PIXELS in `env` (default 8192x8192).
 */
export async function readInputImage(file: string, env: NodeJS.ProcessEnv = {}): Promise<{ width: number; height: number; channels: 3 | 4; data: Uint8Array }> {
  const img = await readImage(file, { maxPixels: maxImagePixelsFrom(env[MAX_IMAGE_PIXELS_ENV]) });
  const data = img.data instanceof Uint16Array ? Uint8Array.from(img.data, (x) => Math.round(x / 257)) : img.data;
  return { width: img.width, height: img.height, channels: img.channels, data };
}
