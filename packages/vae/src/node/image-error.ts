import * as C from '@sdxs/core';

export type ImageErrorReason = 'not-found' | 'empty' | 'corrupt' | 'unsupported' | 'too-large' | 'invalid' | 'write-failed';

/** An image that cannot be read or written; `reason` says why, `file` names it. */
export class ImageError extends C.InputError {
  readonly reason: ImageErrorReason;
  readonly file: string;
  constructor(file: string, reason: ImageErrorReason, message: string) {
    super(`${file}: ${message}`);
    this.reason = reason;
    this.file = file;
  }
}

/**
 * An image that cannot be written: a full disk, a read-only or missing folder. An OutputError (the CLI
 * exits 1: the machine, not the input, is at fault), with the same `reason` and `file` as ImageError.
 */
export class ImageWriteError extends C.OutputError {
  readonly reason = 'write-failed' as const;
  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super(file, message, options);
  }
}

/** A failed write as an ImageWriteError that says why in words ("the disk is full"). */
export function imageWriteErrorFrom(file: string, e: unknown): ImageWriteError {
  if (e instanceof ImageWriteError) return e;
  return new ImageWriteError(file, `cannot write the image: ${C.describeWriteError(e)}`, { cause: e });
}

/**
 * Turns a sharp/libvips read failure into an ImageError with a reason.
 */
export function imageErrorFrom(file: string, e: unknown): ImageError {
  if (e instanceof ImageError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  if (/ENOENT|no such file/i.test(msg)) return new ImageError(file, 'not-found', 'file not found');
  if (/unsupported image format|not a known file format|is not in a known format/i.test(msg)) {
    return new ImageError(file, 'unsupported', 'unsupported or unrecognised image format (supported: PNG, JPEG, WebP, AVIF, TIFF)');
  }
  if (/pixel limit|exceeds|too large/i.test(msg)) return new ImageError(file, 'too-large', `image is too large (${msg.split('\n')[0]})`);
  return new ImageError(file, 'corrupt', `cannot decode the image, it looks corrupt or truncated (${msg.split('\n')[0]})`);
}
