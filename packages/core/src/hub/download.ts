/**
 * Downloading single files from the Hugging Face hub (or a compatible endpoint) into the local cache.
 * Node only: node modules are imported lazily so that importing this module is harmless in browsers.
 */
import { AbortError, HubError, throwIfAborted } from '../errors.js';
import { findCachedFile, isKnownMissing, linkSnapshot, markNoExist, readRef, repoCache, writeRef, COMMIT_RE, type RepoCache } from './cache.js';
import { defaultHubCacheDir, hubEndpoint, hubOffline, hubToken } from './env.js';

export interface HubProgress {
  /** Repo-relative path of the file. */
  file: string;
  /** Bytes on disk so far (a resumed download starts above 0). */
  loaded: number;
  /** Total size when the server states it. */
  total: number | undefined;
}

export interface HubDownloadOptions {
  /** Branch, tag or commit (default 'main'). */
  revision?: string;
  /** Folder inside the repo, e.g. 'unet'. */
  subfolder?: string;
  /** Cache root (default: SDXS_CACHE, HF_HUB_CACHE, $HF_HOME/hub or ~/.cache/huggingface/hub). */
  cacheDir?: string;
  /** Access token (default: HF_TOKEN). */
  token?: string;
  /** Hub URL (default: HF_ENDPOINT or https://huggingface.co). */
  endpoint?: string;
  /** Never touch the network (default: HF_HUB_OFFLINE=1). */
  offline?: boolean;
  /** Ask the hub even when the file is cached for this revision. */
  forceDownload?: boolean;
  onProgress?: (p: HubProgress) => void;
  signal?: AbortSignal;
  /** fetch to use (default: the global one). */
  fetch?: typeof fetch;
}

interface RemoteMeta {
  commit: string | undefined;
  etag: string | undefined;
  size: number | undefined;
}

interface Request {
  repoId: string;
  relPath: string;
  revision: string;
  endpoint: string;
  url: string;
  headers: Record<string, string>;
  tokenGiven: boolean;
  fetch: typeof fetch;
  signal: AbortSignal | undefined;
}

const REPO_RE = /^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)?$/;
const inflight = new Map<string, Promise<string>>();

/** Repo-relative path of `filename` under `subfolder`, checked to stay inside the repo. */
export function hubRelPath(filename: string, subfolder?: string): string {
  const segs = [subfolder, filename].filter((s): s is string => !!s).flatMap((s) => s.split(/[\\/]+/)).filter((s) => s !== '' && s !== '.');
  if (segs.length === 0 || segs.includes('..')) throw new HubError(`invalid file path '${[subfolder, filename].filter(Boolean).join('/')}'`);
  return segs.join('/');
}

export function checkRepoId(repoId: string): void {
  if (!REPO_RE.test(repoId) || repoId.includes('..')) {
    throw new HubError(`invalid repo id '${repoId}': expected 'owner/name'`);
  }
}

/**
 * Downloads `filename` (under `subfolder`) of `repoId` at `revision` into the cache and returns the
 * local path of its snapshot file. A file already cached for the revision is returned without any
 * request (for a branch name, once `refs/<branch>` is recorded: pass `forceDownload` to re-check).
 * Interrupted downloads resume from `<blob>.incomplete` with a Range request.
 */
export async function hubDownload(repoId: string, filename: string, opts: HubDownloadOptions = {}): Promise<string> {
  checkRepoId(repoId);
  const relPath = hubRelPath(filename, opts.subfolder);
  const revision = opts.revision ?? 'main';
  const cacheDir = opts.cacheDir ?? (await defaultHubCacheDir());
  const cache = await repoCache(cacheDir, repoId);
  throwIfAborted(opts.signal);

  if (!opts.forceDownload) {
    const hit = await findCachedFile(cache, revision, relPath);
    if (hit) return hit;
    if (await isKnownMissing(cache, revision, relPath)) {
      throw new HubError(`cannot download '${relPath}' of '${repoId}' (revision '${revision}'): file not found in repository '${repoId}' (HTTP 404, cached answer)`, 404);
    }
  }
  if (opts.offline ?? hubOffline()) {
    throw new HubError(
      `'${relPath}' of '${repoId}' (revision '${revision}') is not in the cache at ${cacheDir} and offline mode is on ` +
        `(HF_HUB_OFFLINE): run once online, or \`sdxs download ${repoId}\`, to fetch it`,
    );
  }
  const key = `${cache.root}\n${revision}\n${relPath}`;
  const running = inflight.get(key);
  if (running) return running;
  const job = download(cache, repoId, relPath, revision, opts)
    .catch(async (e: unknown) => {
      // remember a missing file at a known commit, as the hub cache's .no_exist does
      if (e instanceof HubError && e.status === 404 && /file '.*' not found/.test(e.message)) {
        const commit = COMMIT_RE.test(revision) ? revision : await readRef(cache, revision);
        if (commit) await markNoExist(cache, commit, relPath);
      }
      throw e;
    })
    .finally(() => inflight.delete(key));
  inflight.set(key, job);
  return job;
}

async function download(cache: RepoCache, repoId: string, relPath: string, revision: string, opts: HubDownloadOptions): Promise<string> {
  const endpoint = (opts.endpoint ?? hubEndpoint()).replace(/\/+$/, '');
  const token = opts.token ?? hubToken();
  const req: Request = {
    repoId,
    relPath,
    revision,
    endpoint,
    url: `${endpoint}/${repoId}/resolve/${encodeURIComponent(revision)}/${relPath.split('/').map(encodeURIComponent).join('/')}`,
    headers: token ? { authorization: `Bearer ${token}` } : {},
    tokenGiven: !!token,
    fetch: opts.fetch ?? globalThis.fetch,
    signal: opts.signal,
  };
  const meta = await fetchMeta(req);
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  await fs.mkdir(cache.blobs, { recursive: true });

  const etagName = meta.etag && /^[\w.-]{1,128}$/.test(meta.etag) ? meta.etag : undefined;
  let blob = etagName ? path.join(cache.blobs, etagName) : undefined;
  const blobSize = blob ? await sizeOf(blob) : undefined;
  if (blobSize === undefined || (meta.size !== undefined && blobSize !== meta.size)) {
    const partName = etagName ?? `url-${(await sha256Hex(new TextEncoder().encode(req.url))).slice(0, 32)}`;
    const partial = path.join(cache.blobs, `${partName}.incomplete`);
    const digest = await fetchBody(req, partial, meta, opts.onProgress);
    if (meta.etag && /^[0-9a-f]{64}$/.test(meta.etag) && digest !== meta.etag) {
      await fs.rm(partial, { force: true });
      throw new HubError(`'${relPath}' of '${repoId}': downloaded data has sha256 ${digest} but the hub states ${meta.etag}; try again`);
    }
    blob = path.join(cache.blobs, etagName ?? digest);
    await fs.rename(partial, blob);
  }
  if (!blob) throw new HubError(`'${relPath}' of '${repoId}': internal error, no blob`);
  const snapshotDir = meta.commit ?? revision;
  if (meta.commit) await writeRef(cache, revision, meta.commit);
  return linkSnapshot(cache, snapshotDir, relPath, blob);
}

async function sizeOf(p: string): Promise<number | undefined> {
  const fs = await import('node:fs/promises');
  try {
    return (await fs.stat(p)).size;
  } catch {
    return undefined;
  }
}

async function sha256Hex(data: Uint8Array): Promise<string> {
  const { createHash } = await import('node:crypto');
  return createHash('sha256').update(data).digest('hex');
}

function unquote(etag: string | null): string | undefined {
  if (!etag) return undefined;
  return etag.replace(/^W\//, '').replace(/^"(.*)"$/, '$1') || undefined;
}

function httpError(req: Request, res: Response): HubError {
  const what = `'${req.relPath}' of '${req.repoId}' (revision '${req.revision}')`;
  const code = res.headers.get('x-error-code');
  if (res.status === 401 || res.status === 403 || code === 'GatedRepo') {
    const why = req.tokenGiven
      ? 'the token given (HF_TOKEN or the token option) has no access to it; check the token and accept the model terms on the hub page'
      : 'the repository is private or gated: set HF_TOKEN to an access token (and accept the model terms on the hub page)';
    return new HubError(`access denied to ${what} (HTTP ${res.status}): ${why}`, res.status);
  }
  if (res.status === 404) {
    const detail =
      code === 'RepoNotFound'
        ? `repository '${req.repoId}' not found on ${req.endpoint} (if it is private, set HF_TOKEN)`
        : code === 'RevisionNotFound'
          ? `revision '${req.revision}' not found in repository '${req.repoId}'`
          : code === 'EntryNotFound'
            ? `file '${req.relPath}' not found in repository '${req.repoId}'`
            : `repository '${req.repoId}' or file '${req.relPath}' does not exist`;
    return new HubError(`cannot download ${what}: ${detail} (HTTP 404)`, 404);
  }
  return new HubError(`cannot download ${what} from ${req.endpoint}: HTTP ${res.status} ${res.statusText}`.trim(), res.status);
}

async function send(req: Request, url: string, init: RequestInit): Promise<Response> {
  throwIfAborted(req.signal);
  try {
    return await req.fetch(url, { ...init, signal: req.signal });
  } catch (e) {
    if (req.signal?.aborted || (e instanceof Error && e.name === 'AbortError')) throw new AbortError(`download of '${req.relPath}' aborted`);
    const cause = (e as Error).cause instanceof Error ? `: ${((e as Error).cause as Error).message}` : '';
    throw new HubError(
      `cannot reach ${req.endpoint} to download '${req.relPath}' of '${req.repoId}' (${(e as Error).message}${cause}); ` +
        'check the network, or set HF_HUB_OFFLINE=1 to use only cached files',
      undefined,
      { cause: e },
    );
  }
}

/** HEAD request following redirects by hand, so the hub's own headers (commit, linked etag) are seen. */
async function fetchMeta(req: Request): Promise<RemoteMeta> {
  const meta: RemoteMeta = { commit: undefined, etag: undefined, size: undefined };
  let url = req.url;
  for (let hop = 0; hop < 10; hop++) {
    const sameOrigin = new URL(url).origin === new URL(req.url).origin;
    const res = await send(req, url, { method: 'HEAD', redirect: 'manual', headers: sameOrigin ? req.headers : {} });
    await res.body?.cancel().catch(() => {});
    const h = res.headers;
    meta.commit ??= COMMIT_RE.test(h.get('x-repo-commit') ?? '') ? (h.get('x-repo-commit') as string) : undefined;
    meta.etag ??= unquote(h.get('x-linked-etag'));
    const linkedSize = h.get('x-linked-size');
    if (meta.size === undefined && linkedSize && /^\d+$/.test(linkedSize)) meta.size = Number(linkedSize);
    const location = h.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      if (meta.etag) return meta; // a linked (LFS) file: the rest comes from the storage URL on GET
      url = new URL(location, url).href;
      continue;
    }
    if (!res.ok) throw httpError(req, res);
    meta.etag ??= unquote(h.get('etag'));
    const len = h.get('content-length');
    if (meta.size === undefined && len && /^\d+$/.test(len) && !h.get('content-encoding')) meta.size = Number(len);
    return meta;
  }
  throw new HubError(`cannot download '${req.relPath}' of '${req.repoId}': too many redirects`);
}

/** GETs the file into `partial`, resuming from its current size; returns the sha256 of the whole file. */
async function fetchBody(req: Request, partial: string, meta: RemoteMeta, onProgress?: (p: HubProgress) => void): Promise<string> {
  const fs = await import('node:fs/promises');
  const { createHash } = await import('node:crypto');
  let start = (await sizeOf(partial)) ?? 0;
  if (meta.size !== undefined && start > meta.size) start = 0;
  const hash = createHash('sha256');
  const progress = (loaded: number): void => onProgress?.({ file: req.relPath, loaded, total: meta.size });

  if (meta.size === undefined || start < meta.size) {
    let res = await send(req, req.url, { headers: start > 0 ? { ...req.headers, range: `bytes=${start}-` } : req.headers });
    if (res.status === 416 && start > 0) {
      await res.body?.cancel().catch(() => {});
      start = 0;
      res = await send(req, req.url, { headers: req.headers });
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      throw httpError(req, res);
    }
    const rangeStart = /^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '');
    if (res.status !== 206 || !rangeStart || Number(rangeStart[1]) !== start) start = 0; // the server sent it all
    if (meta.size === undefined) {
      const total = /\/(\d+)$/.exec(res.headers.get('content-range') ?? '');
      const len = res.headers.get('content-length');
      if (total) meta.size = Number(total[1]);
      else if (res.status === 200 && len && /^\d+$/.test(len) && !res.headers.get('content-encoding')) meta.size = Number(len);
    }
    if (start > 0) await hashFile(partial, start, hash);
    const fh = await fs.open(partial, start > 0 ? 'r+' : 'w');
    let loaded = start;
    try {
      await fh.truncate(start);
      progress(loaded);
      if (res.body) {
        const reader = res.body.getReader();
        try {
          for (;;) {
            let chunk: Awaited<ReturnType<typeof reader.read>>;
            try {
              chunk = await reader.read();
            } catch (e) {
              if (req.signal?.aborted) throw new AbortError(`download of '${req.relPath}' aborted`);
              throw new HubError(`download of '${req.relPath}' of '${req.repoId}' interrupted (${(e as Error).message}); run again to resume`, undefined, { cause: e });
            }
            if (chunk.done) break;
            let off = 0;
            while (off < chunk.value.length) off += (await fh.write(chunk.value, off, chunk.value.length - off, loaded + off)).bytesWritten;
            hash.update(chunk.value);
            loaded += chunk.value.length;
            progress(loaded);
            throwIfAborted(req.signal);
          }
        } finally {
          await reader.cancel().catch(() => {});
        }
      }
    } finally {
      await fh.close();
    }
    if (meta.size !== undefined && loaded !== meta.size) {
      throw new HubError(`download of '${req.relPath}' of '${req.repoId}' ended at ${loaded} of ${meta.size} bytes; run again to resume`);
    }
  } else {
    await hashFile(partial, start, hash);
    progress(start);
  }
  return hash.digest('hex');
}

async function hashFile(file: string, length: number, hash: { update(b: Uint8Array): unknown }): Promise<void> {
  const fs = await import('node:fs/promises');
  const fh = await fs.open(file, 'r');
  try {
    const buf = new Uint8Array(1 << 22);
    for (let pos = 0; pos < length; ) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, length - pos), pos);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
  } finally {
    await fh.close();
  }
}
