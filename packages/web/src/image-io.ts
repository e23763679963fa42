/** Images in the page: a picked file → 8-bit raster (what the model worker is sent). */
import { DEFAULT_MAX_IMAGE_PIXELS, imageSizeFromHeader, pixelLimitProblem, type Raster } from '@sdxs/vae';

/**
 * Decodes an image file (EXIF orientation applied by the browser); RGB when fully opaque, else RGBA.
 * The size in the header is checked against DEFAULT_MAX_IMAGE_PIXELS before the browser decodes it.
 */
export async function fileToRaster(file: Blob, maxPixels = DEFAULT_MAX_IMAGE_PIXELS): Promise<Raster<Uint8ClampedArray>> {
  const head = imageSizeFromHeader(new Uint8Array(await file.slice(0, 256 * 1024).arrayBuffer()));
  const tooLarge = head && pixelLimitProblem(head.width, head.height, maxPixels);
  if (tooLarge) throw new Error(tooLarge);
  const bitmap = await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  const { width, height } = bitmap;
  const decodedTooLarge = pixelLimitProblem(width, height, maxPixels);
  if (decodedTooLarge) {
    bitmap.close();
    throw new Error(decodedTooLarge);
  }
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no 2D canvas context');
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  const rgba = ctx.getImageData(0, 0, width, height).data;
  let opaque = true;
  for (let i = 3; i < rgba.length && opaque; i += 4) opaque = rgba[i] === 255;
  if (!opaque) return { width, height, channels: 4, data: rgba };
  const rgb = new Uint8ClampedArray(width * height * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) rgb.set(rgba.subarray(i, i + 3), j);
  return { width, height, channels: 3, data: rgb };
}
