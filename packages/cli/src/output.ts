import { describeWriteError, OutputError, removeStaleTempFiles } from '@sdxs/core';
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Write a file atomically: a temporary sibling first, then rename, so no partial output is ever left
 * (temporary files of killed runs in the folder are removed first). Failures are OutputErrors.
 */
export async function writeFileAtomic(file: string, data: Uint8Array): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await mkdir(path.dirname(path.resolve(file)), { recursive: true });
    await removeStaleTempFiles(path.dirname(path.resolve(file)));
    await writeFile(tmp, data);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => {});
    // a full disk or a read-only folder is the machine's problem, not the input's: exit 1, said in words
    throw new OutputError(file, `cannot write: ${describeWriteError(e)}`, { cause: e });
  }
}

/** out.png → out.png for one image, out-1.png, out-2.png, ... for several. */
export function numberedPaths(out: string, n: number): string[] {
  if (n === 1) return [out];
  const ext = path.extname(out) || '.png';
  const base = out.slice(0, out.length - path.extname(out).length);
  return Array.from({ length: n }, (_, i) => `${base}-${i + 1}${ext}`);
}
