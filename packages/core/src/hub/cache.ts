/**
 * The on-disk cache, laid out like the Hugging Face hub cache:
 *   <cacheDir>/models--<owner>--<name>/blobs/<etag or sha256>
 *                                     /snapshots/<commit or revision>/<path>  (relative symlink to the blob, or a copy)
 *                                     /refs/<revision>                        (the commit the revision resolved to)
 */
export const COMMIT_RE = /^[0-9a-f]{40}$/;

export interface RepoCache {
  root: string;
  blobs: string;
  snapshots: string;
  refs: string;
}

export async function repoCache(cacheDir: string, repoId: string): Promise<RepoCache> {
  const path = await import('node:path');
  const root = path.join(cacheDir, `models--${repoId.split('/').join('--')}`);
  return { root, blobs: path.join(root, 'blobs'), snapshots: path.join(root, 'snapshots'), refs: path.join(root, 'refs') };
}

async function isFile(p: string): Promise<boolean> {
  const fs = await import('node:fs/promises');
  try {
    return (await fs.stat(p)).isFile();
  } catch {
    return false;
  }
}

/** The commit `refs/<revision>` points to, if recorded. */
export async function readRef(cache: RepoCache, revision: string): Promise<string | undefined> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  try {
    const v = (await fs.readFile(path.join(cache.refs, ...revision.split('/')), 'utf8')).trim();
    return COMMIT_RE.test(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

export async function writeRef(cache: RepoCache, revision: string, commit: string): Promise<void> {
  if (revision === commit) return;
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const file = path.join(cache.refs, ...revision.split('/'));
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  await fs.writeFile(tmp, commit);
  await fs.rename(tmp, file);
}

/** The cached snapshot file for `revision` (a commit, or a ref resolved through refs/), if present. */
export async function findCachedFile(cache: RepoCache, revision: string, relPath: string): Promise<string | undefined> {
  const path = await import('node:path');
  const commit = COMMIT_RE.test(revision) ? revision : await readRef(cache, revision);
  const dirs = commit && commit !== revision ? [commit, revision] : [revision];
  for (const d of dirs) {
    const p = path.join(cache.snapshots, d, ...relPath.split('/'));
    if (await isFile(p)) return p;
  }
  return undefined;
}

/** Points snapshots/<dir>/<relPath> at the blob: a relative symlink, or a copy where links are refused. */
export async function linkSnapshot(cache: RepoCache, snapshotDir: string, relPath: string, blob: string): Promise<string> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const file = path.join(cache.snapshots, snapshotDir, ...relPath.split('/'));
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.rm(file, { force: true });
  try {
    await fs.symlink(path.relative(path.dirname(file), blob), file);
  } catch {
    const tmp = `${file}.tmp-${process.pid}`;
    await fs.copyFile(blob, tmp);
    await fs.rename(tmp, file);
  }
  return file;
}

/** `.no_exist/<commit>/<path>`: the hub said this file does not exist at that commit (so we need not ask again). */
async function noExistFile(cache: RepoCache, commit: string, relPath: string): Promise<string> {
  const path = await import('node:path');
  return path.join(cache.root, '.no_exist', commit, ...relPath.split('/'));
}

export async function markNoExist(cache: RepoCache, commit: string, relPath: string): Promise<void> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const f = await noExistFile(cache, commit, relPath);
  await fs.mkdir(path.dirname(f), { recursive: true });
  await fs.writeFile(f, '');
}

/** Whether the cache records that `relPath` does not exist at the commit `revision` resolves to. */
export async function isKnownMissing(cache: RepoCache, revision: string, relPath: string): Promise<boolean> {
  const commit = COMMIT_RE.test(revision) ? revision : await readRef(cache, revision);
  return commit !== undefined && isFile(await noExistFile(cache, commit, relPath));
}
