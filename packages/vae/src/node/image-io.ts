/**
 * Image files through sharp (libvips): PNG, JPEG, WebP, AVIF and TIFF in and out. Reading applies the
 * EXIF orientation, converts grayscale and CMYK to sRGB, keeps 16-bit PNG/TIFF samples as Uint16Array,
 * and returns the ICC profile of RGB images so that writing can keep it.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { DEFAULT_MAX_IMAGE_PIXELS, pixelLimitProblem } from '../image-limits.js';
import type { Raster } from '../upscale/raster.js';
import { writeAtomically } from './atomic.js';
import { ImageError, imageErrorFrom } from './image-error.js';

export type ImageFormat = 'png' | 'jpeg' | 'webp' | 'avif' | 'tiff';

export interface DecodedImage extends Raster<Uint8Array | Uint16Array> {
  /** Container format of the input. */
  format: ImageFormat;
  /** 8 or 16 bits per sample (16 only for 16-bit PNG/TIFF). */
  bitDepth: 8 | 16;
  /** The input's ICC profile when it describes an RGB space. Samples are always sRGB; pass it to writeImage to get the original space and profile back. */
  icc: Uint8Array | undefined;
}

export interface ReadImageOptions {
  /**
   * Refuse images whose header claims more pixels than this, before decoding (default
   * DEFAULT_MAX_IMAGE_PIXELS, 8192x8192; the CLI reads SDXS_MAX_IMAGE_PIXELS).
   */
  maxPixels?: number;
}

export interface WriteImageOptions {
  /** Default: from the file extension. */
  format?: ImageFormat;
  /** JPEG/WebP/AVIF quality 1..100 (default 92 / 92 / 70). */
  quality?: number;
  /** RGB ICC profile to convert the (sRGB) samples to and embed, e.g. the input's. */
  icc?: Uint8Array;
}

const FORMATS: Record<string, ImageFormat> = { png: 'png', jpeg: 'jpeg', jpg: 'jpeg', webp: 'webp', heif: 'avif', avif: 'avif', tiff: 'tiff', tif: 'tiff' };
export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp', '.avif', '.tif', '.tiff'] as const;

/** The format of a file name's extension, or undefined. */
export function formatFromPath(file: string): ImageFormat | undefined {
  return FORMATS[path.extname(file).slice(1).toLowerCase()];
}

/** The ICC colour-space signature (bytes 16..19 of the header): 'RGB ', 'GRAY', 'CMYK', ... */
function iccSpace(icc: Uint8Array): string {
  return icc.length >= 20 ? String.fromCharCode(...icc.subarray(16, 20)) : '';
}

/** Reads an image file (or its bytes) as RGB or RGBA samples. Errors are ImageErrors with a reason. */
export async function readImage(input: string | Uint8Array, opts: ReadImageOptions = {}): Promise<DecodedImage> {
  const name = typeof input === 'string' ? input : '<buffer>';
  let bytes: Uint8Array;
  try {
    bytes = typeof input === 'string' ? await fs.readFile(input) : input;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ImageError(name, 'not-found', 'file not found');
    if (code === 'EISDIR') throw new ImageError(name, 'invalid', 'is a folder, not an image file');
    throw imageErrorFrom(name, e);
  }
  if (bytes.length === 0) throw new ImageError(name, 'empty', 'file is empty (0 bytes)');
  const limit = opts.maxPixels ?? DEFAULT_MAX_IMAGE_PIXELS;
  try {
    // Header only: the size is checked before a single pixel is decoded.
    const meta = await sharp(bytes, { failOn: 'error', limitInputPixels: false }).metadata();
    const format = FORMATS[meta.format ?? ''];
    if (!format) throw new ImageError(name, 'unsupported', `unsupported image format '${meta.format}' (supported: PNG, JPEG, WebP, AVIF, TIFF)`);
    if (!meta.width || !meta.height) throw new ImageError(name, 'invalid', `image has zero size (${meta.width}x${meta.height})`);
    const tooLarge = pixelLimitProblem(meta.width, meta.height, limit);
    if (tooLarge) throw new ImageError(name, 'too-large', tooLarge);
    const sixteen = meta.depth === 'ushort' && (format === 'png' || format === 'tiff');
    const alpha = meta.hasAlpha === true;
    const iccRaw = meta.icc ? new Uint8Array(meta.icc) : undefined;
    const keepIcc = iccRaw && iccSpace(iccRaw) === 'RGB ' ? iccRaw : undefined;
    const { data, info } = await decodeStrictly((failOn) => {
      let img = sharp(bytes, { failOn, limitInputPixels: limit }).autoOrient();
      // Samples come out as sRGB (through the embedded profile when there is one), the space the model
      // was trained in; writeImage with `icc` converts back and embeds the original profile.
      img = img.toColourspace(sixteen ? 'rgb16' : 'srgb');
      if (!alpha) img = img.removeAlpha();
      return img.raw(sixteen ? { depth: 'ushort' } : {}).toBuffer({ resolveWithObject: true });
    });
    const channels = info.channels;
    if (channels !== 3 && channels !== 4) throw new ImageError(name, 'unsupported', `decoded to ${channels} channels; expected RGB or RGBA`);
    const samples = sixteen
      ? new Uint16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length))
      : new Uint8Array(data.buffer, data.byteOffset, data.length);
    return { width: info.width, height: info.height, channels, data: samples, format, bitDepth: sixteen ? 16 : 8, icc: keepIcc };
  } catch (e) {
    throw imageErrorFrom(name, e);
  }
}

/** Messages of libjpeg/libpng/libwebp/libtiff for image data that stops short or is missing. */
const TRUNCATED = /premature end|truncat|unexpected end|not enough data|read error|short read|incomplete/i;

/**
 * Decodes failing on warnings first; a warning that says the data stops short is an error (a
 * truncated or mostly-missing file otherwise decodes as a grey picture). Files with other, harmless
 * warnings (stray bytes between JPEG markers, ...) are decoded again tolerantly.
 */
export async function decodeStrictly<T>(decode: (failOn: 'warning' | 'error') => Promise<T>): Promise<T> {
  try {
    return await decode('warning');
  } catch (e) {
    if (TRUNCATED.test((e as Error).message)) throw e;
    return decode('error');
  }
}

/** Encodes samples (8-bit, 16-bit or float in [0, 1]) to an image file, atomically (temp file + rename). */
export async function writeImage(file: string, image: Raster, opts: WriteImageOptions = {}): Promise<void> {
  const format = opts.format ?? formatFromPath(file);
  if (!format) throw new ImageError(file, 'unsupported', `cannot tell the output format from '${path.extname(file) || file}'; use .png, .jpg, .webp, .avif or .tiff`);
  const { width, height, channels } = image;
  const deep = format === 'png' || format === 'tiff';
  let data: Uint8Array | Uint16Array;
  if (image.data instanceof Uint16Array) data = deep ? image.data : Uint8Array.from(image.data, (v) => Math.round(v / 257));
  else if (image.data instanceof Float32Array) {
    data = deep ? Uint16Array.from(image.data, (v) => Math.round(Math.min(1, Math.max(0, v)) * 65535)) : Uint8Array.from(image.data, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255));
  } else data = image.data instanceof Uint8Array ? image.data : new Uint8Array(image.data.buffer, image.data.byteOffset, image.data.length);
  let iccFile: string | undefined;
  try {
    if (opts.icc) {
      iccFile = path.join(os.tmpdir(), `sdxs-icc-${process.pid}-${Math.random().toString(36).slice(2)}.icc`);
      await fs.writeFile(iccFile, opts.icc);
    }
    await writeAtomically(file, async (tmp) => {
      let img = sharp(data, { raw: { width, height, channels } });
      if (data instanceof Uint16Array) img = img.toColourspace('rgb16');
      if (iccFile) img = img.withIccProfile(iccFile);
      const q = opts.quality;
      if (format === 'png') img = img.png({ compressionLevel: 6 });
      else if (format === 'jpeg') img = img.jpeg({ quality: q ?? 92, chromaSubsampling: '4:4:4' });
      else if (format === 'webp') img = img.webp({ quality: q ?? 92 });
      else if (format === 'avif') img = img.avif({ quality: q ?? 70 });
      else img = img.tiff({ compression: 'lzw' });
      await img.toFile(tmp);
    });
  } catch (e) {
    throw e instanceof ImageError ? e : imageErrorFrom(file, e, true);
  } finally {
    if (iccFile) await fs.rm(iccFile, { force: true }).catch(() => {});
  }
}
