import * as C from '@sdxs/core';
import { readdirSync } from 'node:fs';
import path from 'node:path';

export const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.avif', '.tif', '.tiff', '.gif', '.heic', '.heif']);

/** Entries named like images under `root` (recursive, any file type but folders), as sorted forward-slash paths relative to it; `exclude` is skipped. */
export function listImages(root: string, exclude?: string): string[] {
  const out: string[] = [];
  const ex = exclude ? path.resolve(exclude) : null;
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const abs = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (abs !== ex && !e.name.startsWith('.')) walk(abs);
      } else if (IMAGE_EXTENSIONS.has(path.extname(e.name).toLowerCase())) {
        // Symlinks, FIFOs and devices named like images are listed too: probing reports what they are
        // (a symlink to an image is used; anything that is not a regular file is skipped with the reason).
        out.push(path.relative(root, abs).split(path.sep).join('/'));
      }
    }
  };
  walk(root);
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Whether `source` belongs to machine `index` of `count`. */
export function inShard(source: string, index: number, count: number): boolean {
  return count <= 1 || C.fnv1a(source) % count === index;
}
