/**
 * Image files through sharp (libvips): PNG, JPEG, WebP, AVIF and TIFF in and out. Reading applies the
 * EXIF orientation, converts grayscale and CMYK to sRGB, keeps 16-bit PNG/TIFF samples as Uint16Array,
 * and returns the ICC profile of RGB images so that writing can keep it.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { DEFAULT_MAX_IMAGE_PIXELS, MAX_IMAGE_PIXELS_ENV, pixelLimitProblem } from '../image-limits.js';
import type { Raster } from '../upscale/raster.js';
import { writeAtomically } from './atomic.js';
import { readImageFileBytes } from './image-file.js';
import { ImageError, imageErrorFrom, imageWriteErrorFrom } from './image-error.js';

export type ImageFormat = 'png' | 'jpeg' | 'webp' | 'avif' | 'tiff';

export interface DecodedImage extends Raster<Uint8Array | Uint16Array> {
  /** Container format of the input. */
  format: ImageFormat;
  /** 8 or 16 bits per sample (16 only for 16-bit PNG/TIFF). */
  bitDepth: 8 | 16;
  /** The input's ICC profile when it describes an RGB space. Samples are always sRGB; pass it to writeImage to get the original space and profile back. */
  icc: Uint8Array | undefined;
  /** Frames (animated WebP) or pages (TIFF) in the file; readImage decodes the first, readImageFrames all. */
  pages: number;
}

export interface ReadImageOptions {
  /**
   * Refuse images whose header claims more pixels than this, before decoding (default
   * DEFAULT_MAX_IMAGE_PIXELS, 8192x8192; the CLI reads SDXS_MAX_IMAGE_PIXELS).
   */
  maxPixels?: number;
  /**
   * Refuse files larger than this, in bytes, before reading them (default: 8 bytes a pixel of
   * `maxPixels` plus 16 MiB; the CLI reads SDXS_MAX_IMAGE_BYTES).
   */
  maxBytes?: number;
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

/** Reads an image file (or its bytes) as RGB or RGBA samples: the first frame or page (`pages` says how many there are). Errors are ImageErrors with a reason. */
export async function readImage(input: string | Uint8Array, opts: ReadImageOptions = {}): Promise<DecodedImage> {
  const { frames, ...rest } = await decodeImage(input, opts, false);
  return { ...rest, ...frames[0]! };
}

export interface DecodedFrames extends Omit<DecodedImage, 'data'> {
  /** Every frame of an animated WebP or page of a multi-page TIFF (one for still images), each width x height. */
  frames: Raster<Uint8Array | Uint16Array>[];
  /** Frame durations in ms, when the file states them (animations). */
  delay: number[] | undefined;
  /** Animation loop count (0 = forever), when stated. */
  loop: number | undefined;
}

/**
 * Reads every frame of an animated WebP or every page of a multi-page TIFF (a still image gives one).
 * The whole animation counts against the pixel limit: frames x width x height.
 */
export async function readImageFrames(input: string | Uint8Array, opts: ReadImageOptions = {}): Promise<DecodedFrames> {
  return decodeImage(input, opts, true);
}

async function decodeImage(input: string | Uint8Array, opts: ReadImageOptions, allPages: boolean): Promise<DecodedFrames> {
  const name = typeof input === 'string' ? input : '<buffer>';
  const limit = opts.maxPixels ?? DEFAULT_MAX_IMAGE_PIXELS;
  // Regular files only, size capped, format and header size sniffed before the rest is read.
  const bytes = typeof input === 'string' ? (await readImageFileBytes(input, { maxPixels: limit, maxBytes: opts.maxBytes })).bytes : input;
  if (bytes.length === 0) throw new ImageError(name, 'empty', 'file is empty (0 bytes)');
  try {
    // Header only: the size is checked before a single pixel is decoded.
    const meta = await sharp(bytes, { failOn: 'error', limitInputPixels: false }).metadata();
    const format = FORMATS[meta.format ?? ''];
    if (!format) throw new ImageError(name, 'unsupported', `unsupported image format '${meta.format}' (supported: PNG, JPEG, WebP, AVIF, TIFF)`);
    const pages = Math.max(1, meta.pages ?? 1);
    const pageHeight = pages > 1 ? (meta.pageHeight ?? meta.height) : meta.height;
    if (!meta.width || !pageHeight) throw new ImageError(name, 'invalid', `image has zero size (${meta.width}x${pageHeight})`);
    const tooLarge = pixelLimitProblem(meta.width, pageHeight, limit);
    if (tooLarge) throw new ImageError(name, 'too-large', tooLarge);
    const decoded = allPages ? pages : 1;
    if (decoded > 1 && meta.width * pageHeight * decoded > limit) {
      throw new ImageError(
        name,
        'too-large',
        `animation of ${decoded} frames of ${meta.width}x${pageHeight} = ${meta.width * pageHeight * decoded} pixels, over the limit of ${limit} (raise it with ${MAX_IMAGE_PIXELS_ENV} or the maxPixels option if the image is genuine)`,
      );
    }
    const sixteen = meta.depth === 'ushort' && (format === 'png' || format === 'tiff');
    const alpha = meta.hasAlpha === true;
    const iccRaw = meta.icc ? new Uint8Array(meta.icc) : undefined;
    const keepIcc = iccRaw && iccSpace(iccRaw) === 'RGB ' ? iccRaw : undefined;
    const frames: Raster<Uint8Array | Uint16Array>[] = [];
    for (let page = 0; page < decoded; page++) {
      const { data, info } = await decodeStrictly((failOn) => {
        let img = sharp(bytes, { failOn, limitInputPixels: limit, page, pages: 1 }).autoOrient();
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
      if (frames.length && (info.width !== frames[0]!.width || info.height !== frames[0]!.height || channels !== frames[0]!.channels)) {
        throw new ImageError(name, 'unsupported', `page ${page + 1} is ${info.width}x${info.height}x${channels}, unlike page 1 (${frames[0]!.width}x${frames[0]!.height}x${frames[0]!.channels}); pages of different sizes are not supported`);
      }
      frames.push({ width: info.width, height: info.height, channels, data: samples });
    }
    const first = frames[0]!;
    const delay = Array.isArray(meta.delay) && meta.delay.length === pages ? meta.delay.slice(0, decoded) : undefined;
    return { width: first.width, height: first.height, channels: first.channels, format, bitDepth: sixteen ? 16 : 8, icc: keepIcc, pages, frames, delay, loop: meta.loop };
  } catch (e) {
    throw imageErrorFrom(name, e);
  }
}

/** Formats that hold several frames or pages, as sharp writes them. */
export const MULTI_FRAME_FORMATS: readonly ImageFormat[] = ['webp', 'tiff'];

/** Largest width and height each output format can store. */
const MAX_SIDE: Record<ImageFormat, number> = { png: 2 ** 31 - 1, jpeg: 65535, webp: 16383, avif: 65536, tiff: 2 ** 32 - 1 };

/** Why a width x height image cannot be written as `format`, or undefined when it can. */
export function outputSizeProblem(format: ImageFormat, width: number, height: number): string | undefined {
  const most = MAX_SIDE[format];
  if (width <= most && height <= most) return undefined;
  const fits = (Object.keys(MAX_SIDE) as ImageFormat[]).filter((f) => width <= MAX_SIDE[f] && height <= MAX_SIDE[f]).map((f) => (f === 'jpeg' ? '.jpg' : `.${f}`));
  return `a ${width}x${height} image is over the ${format.toUpperCase()} limit of ${most} pixels a side; write ${fits.join(' or ')} instead`;
}

/** Messages of libjpeg/libpng/libwebp/libtiff for image data that stops short or is missing. */
export const TRUNCATED_DATA = /premature end|truncat|unexpected end|not enough data|read error|short read|incomplete/i;
/** sharp's message for a strict failure whose warnings another decode took from libvips' per-process queue. */
export const UNEXPLAINED_FAILURE = /^\s*(warning treated as error due to failon setting|unknown error)?\s*$/i;
/** Strict tries of one decode whose failure does not say why, before it is refused. */
export const STRICT_DECODE_TRIES = 5;

/**
 * Decodes failing on warnings first; a warning that says the data stops short is an error (a
 * truncated or mostly-missing file otherwise decodes as a grey picture). Files with other, harmless
 * warnings (stray bytes between JPEG markers, ...) are decoded again tolerantly. sharp keeps libvips'
 * warnings in one queue per process, so a decode running beside this one can take them: a strict
 * failure that does not say why is tried strictly again, never taken as harmless.
 */
export async function decodeStrictly<T>(decode: (failOn: 'warning' | 'error') => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await decode('warning');
    } catch (e) {
      const message = (e as Error).message;
      if (TRUNCATED_DATA.test(message)) throw e;
      if (UNEXPLAINED_FAILURE.test(message)) {
        if (attempt < STRICT_DECODE_TRIES - 1) continue;
        throw new Error('the decoder stopped on a warning it did not name', { cause: e });
      }
      return decode('error');
    }
  }
}

/** Samples in the output format's depth: 16-bit for PNG/TIFF from 16-bit or float input, else 8-bit. */
function outputSamples(image: Raster, deep: boolean): Uint8Array | Uint16Array {
  if (image.data instanceof Uint16Array) return deep ? image.data : Uint8Array.from(image.data, (v) => Math.round(v / 257));
  if (image.data instanceof Float32Array) {
    return deep ? Uint16Array.from(image.data, (v) => Math.round(Math.min(1, Math.max(0, v)) * 65535)) : Uint8Array.from(image.data, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255));
  }
  return image.data instanceof Uint8Array ? image.data : new Uint8Array(image.data.buffer, image.data.byteOffset, image.data.length);
}

export interface WriteFramesOptions extends WriteImageOptions {
  /** Frame durations in ms (animated WebP), one per frame or one for all. */
  delay?: number[];
  /** Loop count (0 = forever, the default). */
  loop?: number;
}

/** Encodes samples (8-bit, 16-bit or float in [0, 1]) to an image file, atomically (temp file + rename). */
export async function writeImage(file: string, image: Raster, opts: WriteImageOptions = {}): Promise<void> {
  await writeImageFrames(file, [image], opts);
}

/**
 * Encodes several equal-sized frames as an animated WebP or a multi-page TIFF (one frame: any format),
 * atomically. Encoding happens in memory, then the bytes are written, so a full disk or a read-only
 * folder is reported as such (ImageWriteError, an OutputError).
 */
export async function writeImageFrames(file: string, frames: readonly Raster[], opts: WriteFramesOptions = {}): Promise<void> {
  const format = opts.format ?? formatFromPath(file);
  if (!format) throw new ImageError(file, 'unsupported', `cannot tell the output format from '${path.extname(file) || file}'; use .png, .jpg, .webp, .avif or .tiff`);
  const first = frames[0];
  if (!first) throw new ImageError(file, 'invalid', 'no frames to write');
  if (frames.length > 1 && !MULTI_FRAME_FORMATS.includes(format)) {
    throw new ImageError(file, 'unsupported', `${frames.length} frames cannot be written as ${format.toUpperCase()}; use ${MULTI_FRAME_FORMATS.map((f) => `.${f}`).join(' or ')}`);
  }
  const { width, height, channels } = first;
  for (const f of frames) {
    if (f.width !== width || f.height !== height || f.channels !== channels) throw new ImageError(file, 'invalid', 'frames differ in size or channels');
  }
  const tooLarge = outputSizeProblem(format, width, height);
  if (tooLarge) throw new ImageError(file, 'too-large', tooLarge);
  const deep = format === 'png' || format === 'tiff';
  const parts = frames.map((f) => outputSamples(f, deep));
  let data: Uint8Array | Uint16Array = parts[0]!;
  if (parts.length > 1) {
    const all = parts[0] instanceof Uint16Array ? new Uint16Array(parts[0].length * parts.length) : new Uint8Array(parts[0]!.length * parts.length);
    parts.forEach((p, i) => all.set(p, i * p.length));
    data = all;
  }
  let iccFile: string | undefined;
  let encoded: Buffer;
  try {
    if (opts.icc) {
      iccFile = path.join(os.tmpdir(), `sdxs-icc-${process.pid}-${Math.random().toString(36).slice(2)}.icc`);
      await fs.writeFile(iccFile, opts.icc);
    }
    let img = sharp(data, { raw: { width, height: height * frames.length, channels, ...(frames.length > 1 ? { pageHeight: height } : {}) }, limitInputPixels: false });
    if (data instanceof Uint16Array) img = img.toColourspace('rgb16');
    if (iccFile) img = img.withIccProfile(iccFile);
    const q = opts.quality;
    const anim = frames.length > 1 ? { loop: opts.loop ?? 0, ...(opts.delay ? { delay: opts.delay } : {}) } : {};
    if (format === 'png') img = img.png({ compressionLevel: 6 });
    else if (format === 'jpeg') img = img.jpeg({ quality: q ?? 92, chromaSubsampling: '4:4:4' });
    else if (format === 'webp') img = img.webp({ quality: q ?? 92, ...anim });
    else if (format === 'avif') img = img.avif({ quality: q ?? 70 });
    else img = img.tiff({ compression: 'lzw' });
    encoded = await img.toBuffer();
  } catch (e) {
    throw new ImageError(file, 'invalid', `cannot encode the image as ${format.toUpperCase()} (${(e as Error).message.split('\n')[0]})`);
  } finally {
    if (iccFile) await fs.rm(iccFile, { force: true }).catch(() => {});
  }
  try {
    await writeAtomically(file, (tmp) => fs.writeFile(tmp, encoded));
  } catch (e) {
    throw imageWriteErrorFrom(file, e);
  }
}
