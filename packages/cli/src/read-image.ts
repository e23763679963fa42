import { InputError } from '@sdxs/core';

/** An input image file as 8-bit RGB(A) pixels (sharp: PNG, JPEG, WebP, AVIF, TIFF; EXIF orientation applied). */
export async function readInputImage(file: string): Promise<{ width: number; height: number; channels: 3 | 4; data: Uint8Array }> {
  const { default: sharp } = await import('sharp');
  try {
    const { data, info } = await sharp(file).rotate().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    const channels = info.channels >= 4 ? 4 : 3;
    if (info.channels !== channels) throw new InputError(`${file}: ${info.channels}-channel images are not supported`);
    return { width: info.width, height: info.height, channels, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`${file}: cannot read the image (${(e as Error).message})`);
  }
}
