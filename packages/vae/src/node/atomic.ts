/**
 * Outputs that are either complete or absent: write to a hidden temporary file beside the target,
 * then rename over it. The temporary file is removed on failure or abort.
 */
import * as C from '@sdxs/core';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

/** A hidden temporary name in the target's folder (same filesystem, so rename is atomic). */
export function tempPathFor(target: string): string {
  const dir = path.dirname(target);
  const ext = path.extname(target);
  return path.join(dir, `.${path.basename(target, ext)}.partial-${process.pid}-${randomBytes(4).toString('hex')}${ext}`);
}

/**
 * Runs `write(tmp)` and renames tmp to `target` when it succeeds; removes tmp when it fails. Temporary
 * files that killed runs left in the folder are removed first.
 */
export async function writeAtomically<T>(target: string, write: (tmp: string) => Promise<T>): Promise<T> {
  await fs.mkdir(path.dirname(path.resolve(target)), { recursive: true });
  await C.removeStaleTempFiles(path.dirname(path.resolve(target)));
  const tmp = tempPathFor(path.resolve(target));
  try {
    const r = await write(tmp);
    await fs.rename(tmp, target);
    return r;
  } catch (e) {
    await fs.rm(tmp, { force: true }).catch(() => {});
    throw e;
  }
}
