/** Several files of one repo at one commit, and turning "local folder or repo id" into a local folder. */
import { HubError, InputError, previewValue, SafetensorsError } from '../errors.js';
import { hubDownload, hubRelPath, checkRepoId, HUB_PATH_RULE, type HubDownloadOptions } from './download.js';
import { COMMIT_RE } from './cache.js';
import { joinLocation } from '../io/location.js';

/** The snapshot root of a downloaded file: strip the repo-relative path from its local path. */
async function snapshotRootOf(file: string, relPath: string): Promise<string> {
  const path = await import('node:path');
  let dir = file;
  for (let i = relPath.split('/').length; i > 0; i--) dir = path.dirname(dir);
  return dir;
}

/** The commit folder name of a snapshot root (…/snapshots/<commit>). */
async function commitOf(root: string): Promise<string | undefined> {
  const path = await import('node:path');
  const name = path.basename(root);
  return COMMIT_RE.test(name) ? name : undefined;
}

/**
 * Downloads `files` (repo-relative paths) of `repoId` and returns the local snapshot folder that holds
 * them. All files come from the commit the first one resolved to.
 */
export async function hubSnapshot(repoId: string, files: readonly string[], opts: Omit<HubDownloadOptions, 'subfolder'> = {}): Promise<string> {
  checkRepoId(repoId);
  if (files.length === 0) throw new HubError(`hubSnapshot('${repoId}'): no files requested`);
  let revision = opts.revision;
  let root: string | undefined;
  for (const f of files) {
    const rel = hubRelPath(f);
    const local = await hubDownload(repoId, rel, { ...opts, revision });
    if (root === undefined) {
      root = await snapshotRootOf(local, rel);
      revision = (await commitOf(root)) ?? revision;
    }
  }
  return root!;
}

export interface ResolveModelSourceOptions extends HubDownloadOptions {
  /** Files the model needs, relative to `subfolder` (default: ['config.json']). */
  files?: readonly string[];
  /** Files to fetch when they exist (a 404 is not an error). */
  optionalFiles?: readonly string[];
  /**
   * Checkpoint base names, relative to `subfolder` (e.g. 'diffusion_pytorch_model'): fetches
   * `<base>.safetensors`, or when absent `<base>.safetensors.index.json` and every shard it names.
   */
  checkpoints?: readonly string[];
}

async function isDirectory(p: string): Promise<boolean> {
  const fs = await import('node:fs/promises');
  try {
    return (await fs.stat(p)).isDirectory();
  } catch {
    return false;
  }
}

function looksLikePath(s: string): boolean {
  return /^(\.{1,2}([\\/]|$)|[\\/]|~|[A-Za-z]:[\\/])/.test(s) || s.includes('\\') || s.split('/').length > 2;
}

/**
 * A folder for a model part. `source` is a local folder (returned as is, joined with `subfolder`),
 * an http(s) URL of a folder (returned joined with `subfolder`; nothing is fetched and no file system is
 * touched, so this works in browsers: readers fetch from the URL with Range requests), or a hub repo id
 * `owner/name`, whose requested files are downloaded into the cache (or found there); the snapshot
 * folder joined with `subfolder` is returned.
 */
export async function resolveModelSource(source: string, opts: ResolveModelSourceOptions = {}): Promise<string> {
  if (/^https?:\/\//i.test(source)) return joinLocation(source, opts.subfolder);
  const path = await import('node:path');
  if (await isDirectory(source)) return opts.subfolder ? path.join(source, opts.subfolder) : source;
  if (looksLikePath(source)) throw new InputError(`model folder '${source}' does not exist (and it is not a hub repo id 'owner/name')`);
  checkRepoId(source);

  const dl = { ...opts };
  delete dl.subfolder;
  let root: string | undefined;
  const get = async (rel: string, optional: boolean): Promise<string | undefined> => {
    try {
      const full = hubRelPath(rel, opts.subfolder);
      const local = await hubDownload(source, full, dl);
      if (root === undefined) {
        root = await snapshotRootOf(local, full);
        dl.revision = (await commitOf(root)) ?? dl.revision;
      }
      return local;
    } catch (e) {
      if (optional && e instanceof HubError && (e.status === 404 || /not in the cache/.test(e.message))) return undefined;
      throw e;
    }
  };

  for (const f of opts.files ?? (opts.checkpoints ? [] : ['config.json'])) await get(f, false);
  for (const f of opts.optionalFiles ?? []) await get(f, true);
  for (const base of opts.checkpoints ?? []) {
    if (await get(`${base}.safetensors`, true)) continue;
    const indexFile = await get(`${base}.safetensors.index.json`, true);
    if (!indexFile) {
      throw new HubError(
        `'${source}' has neither '${hubRelPath(`${base}.safetensors`, opts.subfolder)}' nor '${hubRelPath(`${base}.safetensors.index.json`, opts.subfolder)}'` +
          ((dl.offline ?? false) ? ' in the cache' : ''),
        404,
      );
    }
    const baseDir = base.includes('/') ? base.slice(0, base.lastIndexOf('/') + 1) : '';
    for (const shard of await shardsOf(indexFile, source)) await get(`${baseDir}${shard}`, false);
  }
  if (root === undefined) throw new HubError(`resolveModelSource('${source}'): no files requested`);
  return opts.subfolder ? path.join(root, ...hubRelPath(opts.subfolder).split('/')) : root;
}

async function shardsOf(indexFile: string, repoId: string): Promise<string[]> {
  const fs = await import('node:fs/promises');
  let json: unknown;
  try {
    json = JSON.parse(await fs.readFile(indexFile, 'utf8'));
  } catch (e) {
    throw new HubError(`'${indexFile}' of '${repoId}' is not valid JSON: ${(e as Error).message}`);
  }
  const map = (json as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== 'object' || map === null) throw new HubError(`'${indexFile}' of '${repoId}' has no weight_map`);
  const shards = new Set<string>();
  for (const [tensor, v] of Object.entries(map)) {
    if (typeof v !== 'string') throw new SafetensorsError(indexFile, `weight_map entry ${previewValue(v)} of '${repoId}' is not a shard file name`, tensor);
    if (shards.has(v)) continue;
    // The names come from the server: the same rule as for any hub path, as a typed error naming the tensor.
    try {
      hubRelPath(v);
    } catch {
      throw new SafetensorsError(indexFile, `weight_map entry ${previewValue(v)} of '${repoId}' is not a usable shard file name (${HUB_PATH_RULE})`, tensor);
    }
    shards.add(v);
  }
  return [...shards];
}
