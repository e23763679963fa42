/**
 * The one limit on image size, checked from the file's header before anything is decoded (a few-KB
 * file can claim 16000x16000 pixels and decode to gigabytes). Browser-safe: no Node imports.
 */
import * as C from '@sdxs/core';

/**
 * Images with more pixels than this are refused before decoding: 8192x8192 (64 Mi pixels, 192 MiB of
 * 8-bit RGB). Raise it with the `maxPixels` option of the readers, or `SDXS_MAX_IMAGE_PIXELS` for the CLI.
 */
export const DEFAULT_MAX_IMAGE_PIXELS = 8192 * 8192;

/** The name of the environment variable the CLI and data tools read the limit from. */
export const MAX_IMAGE_PIXELS_ENV = 'SDXS_MAX_IMAGE_PIXELS';

/** The name of the environment variable that sets the largest image file (bytes) directly. */
export const MAX_IMAGE_BYTES_ENV = 'SDXS_MAX_IMAGE_BYTES';

/** Slack above the pixel data for metadata (EXIF, ICC, XMP, text chunks) in the file size limits. */
const METADATA_SLACK_BYTES = 16 << 20;

/**
 * The largest image file accepted for a pixel limit: 8 bytes a pixel (16-bit RGBA, uncompressed) plus
 * 16 MiB of metadata, so raising the pixel limit raises this one too. 528 MiB at the default limit.
 */
export function maxImageBytesFor(maxPixels: number): number {
  return maxPixels * 8 + METADATA_SLACK_BYTES;
}

/** The file size limit from a value of SDXS_MAX_IMAGE_BYTES (unset or empty: derived from the pixel limit); a bad value is an InputError. */
export function maxImageBytesFrom(value: string | undefined, maxPixels = DEFAULT_MAX_IMAGE_PIXELS): number {
  return C.envMaxImageBytes({ [MAX_IMAGE_BYTES_ENV]: value }) ?? maxImageBytesFor(maxPixels);
}

/**
 * The image limits of an environment (core reads and checks SDXS_MAX_IMAGE_PIXELS and SDXS_MAX_IMAGE_BYTES):
 * unset, the pixel limit is DEFAULT_MAX_IMAGE_PIXELS and the file size limit is derived from it.
 */
export function imageLimitsFromEnv(env: C.EnvSource = C.processEnv()): { maxPixels: number; maxBytes: number } {
  const maxPixels = C.envMaxImagePixels(env) ?? DEFAULT_MAX_IMAGE_PIXELS;
  return { maxPixels, maxBytes: C.envMaxImageBytes(env) ?? maxImageBytesFor(maxPixels) };
}

/**
 * Why a file of `bytes` bytes whose header says width x height is implausibly large (more than 8 bytes
 * a pixel plus metadata), or undefined. A 1x1 PNG followed by a gigabyte is refused from its header.
 */
export function fileSizeProblem(bytes: number, width: number, height: number): string | undefined {
  const most = maxImageBytesFor(width * height);
  return bytes > most ? `file is ${bytes} bytes, more than a ${width}x${height} image can need (${most})` : undefined;
}

/** The limit from a value of SDXS_MAX_IMAGE_PIXELS (unset or empty: the default); a bad value is an InputError. */
export function maxImagePixelsFrom(value: string | undefined): number {
  return C.envMaxImagePixels({ [MAX_IMAGE_PIXELS_ENV]: value }) ?? DEFAULT_MAX_IMAGE_PIXELS;
}

/** Why width x height is over `maxPixels`, or undefined when it is not. */
export function pixelLimitProblem(width: number, height: number, maxPixels = DEFAULT_MAX_IMAGE_PIXELS): string | undefined {
  if (width * height <= maxPixels) return undefined;
  return (
    `image header says ${width}x${height} = ${width * height} pixels, over the limit of ${maxPixels} ` +
    `(raise it with ${MAX_IMAGE_PIXELS_ENV} or the maxPixels option if the image is genuine)`
  );
}

/** Throws an InputError when width x height is over `maxPixels`, before any decoding. */
export function checkImagePixels(name: string, width: number, height: number, maxPixels = DEFAULT_MAX_IMAGE_PIXELS): void {
  const problem = pixelLimitProblem(width, height, maxPixels);
  if (problem) throw new C.InputError(`${name}: ${problem}`);
}

export interface HeaderSize {
  width: number;
  height: number;
  format: 'png' | 'jpeg' | 'webp' | 'gif';
}

const u16be = (b: Uint8Array, i: number): number => (b[i]! << 8) | b[i + 1]!;
const u16le = (b: Uint8Array, i: number): number => b[i]! | (b[i + 1]! << 8);
const u24le = (b: Uint8Array, i: number): number => b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16);
const u32be = (b: Uint8Array, i: number): number => ((b[i]! << 24) >>> 0) + ((b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!);
const ascii = (b: Uint8Array, i: number, n: number): string => String.fromCharCode(...b.subarray(i, i + n));

/**
 * Width and height as written in a PNG, JPEG, WebP or GIF header (no decoding; EXIF orientation not
 * applied, which does not change the pixel count). Undefined for other formats or when the header is cut short.
 */
export function imageSizeFromHeader(b: Uint8Array): HeaderSize | undefined {
  if (b.length >= 24 && b[0] === 0x89 && ascii(b, 1, 3) === 'PNG' && ascii(b, 12, 4) === 'IHDR') {
    return { width: u32be(b, 16), height: u32be(b, 20), format: 'png' };
  }
  if (b.length >= 10 && (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a')) {
    return { width: u16le(b, 6), height: u16le(b, 8), format: 'gif' };
  }
  if (b.length >= 30 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP') {
    const chunk = ascii(b, 12, 4);
    if (chunk === 'VP8X') return { width: u24le(b, 24) + 1, height: u24le(b, 27) + 1, format: 'webp' };
    if (chunk === 'VP8L' && b[20] === 0x2f) {
      const bits = b[21]! | (b[22]! << 8) | (b[23]! << 16) | (b[24]! << 24);
      return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1, format: 'webp' };
    }
    if (chunk === 'VP8 ') return { width: u16le(b, 26) & 0x3fff, height: u16le(b, 28) & 0x3fff, format: 'webp' };
    return undefined;
  }
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) {
    let i = 2;
    while (i + 9 < b.length) {
      if (b[i] !== 0xff) return undefined;
      const marker = b[i + 1]!;
      if (marker === 0xff) {
        i++;
        continue;
      }
      if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
        i += 2;
        continue;
      }
      // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return { width: u16be(b, i + 7), height: u16be(b, i + 5), format: 'jpeg' };
      }
      if (marker === 0xd9 || marker === 0xda) return undefined;
      i += 2 + u16be(b, i + 2);
    }
  }
  return undefined;
}

/** Container formats recognised from a file's first bytes. */
export type SniffedImageFormat = 'png' | 'jpeg' | 'webp' | 'gif' | 'tiff' | 'heif';

/** The image container a file's first bytes announce, or undefined (then nothing more need be read). */
export function sniffImageFormat(b: Uint8Array): SniffedImageFormat | undefined {
  if (b.length >= 8 && b[0] === 0x89 && ascii(b, 1, 3) === 'PNG' && b[4] === 0x0d && b[5] === 0x0a) return 'png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP') return 'webp';
  if (b.length >= 6 && (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a')) return 'gif';
  if (b.length >= 4 && ((b[0] === 0x49 && b[1] === 0x49 && (b[2] === 0x2a || b[2] === 0x2b) && b[3] === 0) || (b[0] === 0x4d && b[1] === 0x4d && b[2] === 0 && (b[3] === 0x2a || b[3] === 0x2b)))) return 'tiff';
  if (b.length >= 12 && ascii(b, 4, 4) === 'ftyp') return 'heif';
  return undefined;
}
