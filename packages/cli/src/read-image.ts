import { readImage } from '@sdxs/vae/node';

/**
 * An input image file as 8-bit RGB(A) (the VAE package's reader: PNG, JPEG, WebP, AVIF, TIFF, EXIF
 * orientation applied, grayscale/CMYK converted; a typed ImageError for anything it cannot read).
 */
export async function readInputImage(file: string): Promise<{ width: number; height: number; channels: 3 | 4; data: Uint8Array }> {
  const img = await readImage(file);
  const data = img.data instanceof Uint16Array ? Uint8Array.from(img.data, (x) => Math.round(x / 257)) : img.data;
  return { width: img.width, height: img.height, channels: img.channels, data };
}
