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
 * Turns a sharp/libvips failure into an ImageError with a reason. `writing`: the failure happened while
 * writing `file`, so it is a write error (disk full, no permission, missing folder), never "corrupt image".
 */
export function imageErrorFrom(file: string, e: unknown, writing = false): ImageError {
  if (e instanceof ImageError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  if (writing) return new ImageError(file, 'write-failed', `cannot write the image (${msg.split('\n')[0]})`);
  if (/ENOENT|no such file/i.test(msg)) return new ImageError(file, 'not-found', 'file not found');
  if (/unsupported image format|not a known file format|is not in a known format/i.test(msg)) {
    return new ImageError(file, 'unsupported', 'unsupported or unrecognised image format (supported: PNG, JPEG, WebP, AVIF, TIFF)');
  }
  if (/pixel limit|exceeds|too large/i.test(msg)) return new ImageError(file, 'too-large', `image is too large (${msg.split('\n')[0]})`);
  return new ImageError(file, 'corrupt', `cannot decode the image, it looks corrupt or truncated (${msg.split('\n')[0]})`);
}
