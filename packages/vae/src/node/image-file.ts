/**
 * Opening untrusted image and video files: only regular files (a character device such as /dev/zero, a
 * FIFO or a socket, also behind a symlink, is refused at once instead of being read forever), within a
 * size limit, and for images the format is sniffed from the first bytes before the rest is read.
 */
import { constants, promises as fs, type Stats } from 'node:fs';
import {
  DEFAULT_MAX_IMAGE_PIXELS,
  fileSizeProblem,
  imageSizeFromHeader,
  maxImageBytesFor,
  MAX_IMAGE_BYTES_ENV,
  MAX_IMAGE_PIXELS_ENV,
  pixelLimitProblem,
  sniffImageFormat,
  type HeaderSize,
  type SniffedImageFormat,
} from '../image-limits.js';
import { ImageError } from './image-error.js';

/** Bytes read to sniff the format and the header size. */
const HEADER_BYTES = 64 << 10;

export interface ImageFileLimits {
  /** Refuse headers claiming more pixels (default DEFAULT_MAX_IMAGE_PIXELS). */
  maxPixels?: number;
  /** Refuse larger files, in bytes (default maxImageBytesFor(maxPixels); the CLI reads SDXS_MAX_IMAGE_BYTES). */
  maxBytes?: number;
}

export interface ImageFileInfo {
  /** File size in bytes. */
  size: number;
  format: SniffedImageFormat;
  /** Width and height from the header, when the format's header states them within the first bytes. */
  header: HeaderSize | undefined;
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Why `file` is not a regular file (a folder, device, FIFO or socket, also through a symlink), or
 * undefined for a regular file; ENOENT and other errors are thrown. Nothing is opened, so a FIFO cannot block.
 */
export async function nonRegularFileProblem(file: string): Promise<string | undefined> {
  const st = await fs.stat(file);
  if (st.isFile()) return undefined;
  const link = await fs.lstat(file).then((l) => l.isSymbolicLink(), () => false);
  return `is ${kindOf(st)}${link ? ' (through a symlink)' : ''}, not a regular file`;
}

/** Opens a regular file without blocking (O_NONBLOCK: a FIFO opens at once and is refused by fstat). */
async function openRegular(name: string, file: string): Promise<{ fh: fs.FileHandle; size: number }> {
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ImageError(name, 'not-found', 'file not found');
    if (code === 'ENXIO') throw new ImageError(name, 'invalid', 'is a socket, not a regular file');
    if (code === 'EACCES' || code === 'EPERM') throw new ImageError(name, 'invalid', 'cannot be read (permission denied)');
    throw new ImageError(name, 'invalid', `cannot be opened (${(e as Error).message})`);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) {
      const link = await fs.lstat(file).then((l) => l.isSymbolicLink(), () => false);
      throw new ImageError(name, 'invalid', `is ${kindOf(st)}${link ? ' (through a symlink)' : ''}, not a regular image file`);
    }
    return { fh, size: st.size };
  } catch (e) {
    await fh.close();
    throw e;
  }
}

async function readAt(fh: fs.FileHandle, into: Uint8Array, position: number): Promise<number> {
  let got = 0;
  while (got < into.length) {
    const { bytesRead } = await fh.read(into, got, into.length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}

/** Checks size and header of an open file; returns what they say. */
async function inspect(name: string, fh: fs.FileHandle, size: number, limits: ImageFileLimits): Promise<ImageFileInfo & { head: Uint8Array }> {
  if (size === 0) throw new ImageError(name, 'empty', 'file is empty (0 bytes)');
  const maxPixels = limits.maxPixels ?? DEFAULT_MAX_IMAGE_PIXELS;
  const maxBytes = limits.maxBytes ?? maxImageBytesFor(maxPixels);
  if (size > maxBytes) {
    throw new ImageError(name, 'too-large', `file is ${size} bytes, over the limit of ${maxBytes} (raise it with ${MAX_IMAGE_BYTES_ENV} or ${MAX_IMAGE_PIXELS_ENV} if the image is genuine)`);
  }
  const head = new Uint8Array(Math.min(size, HEADER_BYTES));
  const n = await readAt(fh, head, 0);
  const format = sniffImageFormat(head.subarray(0, n));
  if (!format) throw new ImageError(name, 'unsupported', 'unsupported or unrecognised image format (supported: PNG, JPEG, WebP, AVIF, TIFF)');
  const header = imageSizeFromHeader(head.subarray(0, n));
  if (header) {
    const tooLarge = pixelLimitProblem(header.width, header.height, maxPixels) ?? fileSizeProblem(size, header.width, header.height);
    if (tooLarge) throw new ImageError(name, 'too-large', tooLarge);
  }
  return { size, format, header, head: head.subarray(0, n) };
}

/** Checks an image file without reading more than its first 64 KiB: regular, within the size limit, a known format, header within the pixel limit. */
export async function inspectImageFile(file: string, limits: ImageFileLimits = {}): Promise<ImageFileInfo> {
  const { fh, size } = await openRegular(file, file);
  try {
    const { head: _head, ...info } = await inspect(file, fh, size, limits);
    return info;
  } finally {
    await fh.close();
  }
}

/** The bytes of an image file, after the checks of inspectImageFile (the rest is read only when they pass). */
export async function readImageFileBytes(file: string, limits: ImageFileLimits = {}): Promise<{ bytes: Uint8Array; info: ImageFileInfo }> {
  const { fh, size } = await openRegular(file, file);
  try {
    const { head, ...info } = await inspect(file, fh, size, limits);
    const bytes = new Uint8Array(size);
    bytes.set(head);
    const n = head.length + (size > head.length ? await readAt(fh, bytes.subarray(head.length), head.length) : 0);
    return { bytes: n === size ? bytes : bytes.subarray(0, n), info };
  } finally {
    await fh.close();
  }
}
