/**
 * Opening local model files (weights, configs, index JSON) under one policy, Node only:
 * - Only regular files are read. A FIFO, socket, device or folder is refused at once: the file is
 *   opened non-blocking and checked with fstat, so a FIFO never blocks the process.
 * - Symlinks are resolved and checked: the target must lie inside the folder that holds the link (the
 *   model folder), or, for a hub cache snapshot (`models--org--name/snapshots/<rev>/…`), inside that
 *   repo's cache folder, where the snapshot links point into `blobs/`. A link that leads elsewhere is
 *   refused, so a model folder cannot make the loader read arbitrary files.
 */
import type { FileHandle } from 'node:fs/promises';

import { LocalFileError } from './local-file-error.js';

export { LocalFileError };

/** The folder a file's symlinks must stay inside: its own folder, or the repo folder of a hub snapshot. */
function containmentRoot(dir: string, sep: string): string {
  const parts = dir.split(sep);
  const i = parts.lastIndexOf('snapshots');
  if (i > 0 && parts[i - 1]!.startsWith('models--') && i + 1 < parts.length) return parts.slice(0, i).join(sep);
  return dir;
}

/** Opens a local file for reading under the policy above. Errors are LocalFileErrors. */
export async function openLocalFile(file: string): Promise<FileHandle> {
  const fs = await import('node:fs/promises');
  const { constants } = await import('node:fs');
  const path = await import('node:path');
  let fh: FileHandle;
  try {
    fh = await fs.open(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new LocalFileError('ENOENT', 'file not found');
    if (code === 'ENXIO') throw new LocalFileError('NOT_REGULAR', 'is a socket or device, not a regular file');
    throw new LocalFileError('IO', `cannot open: ${(e as Error).message}`);
  }
  try {
    const st = await fh.stat();
    if (st.isDirectory()) throw new LocalFileError('NOT_REGULAR', 'is a directory, not a file');
    if (!st.isFile()) throw new LocalFileError('NOT_REGULAR', `is a ${st.isFIFO() ? 'FIFO (named pipe)' : 'special file'}, not a regular file; model files must be regular files`);
    const real = await fs.realpath(file);
    const abs = path.resolve(file);
    if (real !== abs) {
      const dir = await fs.realpath(path.dirname(abs));
      const root = containmentRoot(dir, path.sep);
      const rel = path.relative(root, real);
      if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
        throw new LocalFileError('OUTSIDE', `is a symlink to '${real}', outside the model folder '${root}'; copy the file into the folder instead`);
      }
    }
    return fh;
  } catch (e) {
    await fh.close().catch(() => {});
    if (e instanceof LocalFileError) throw e;
    throw new LocalFileError('IO', `cannot stat: ${(e as Error).message}`);
  }
}
