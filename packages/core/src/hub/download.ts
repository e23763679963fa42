/**
 * Downloading single files from the Hugging Face hub (or a compatible endpoint) into the local cache.
 * Node only: node modules are imported lazily so that importing this module is harmless in browsers.
 */
import { AbortError, clip, HubError, throwIfAborted } from '../errors.js';
import { findCachedFile, isKnownMissing, linkSnapshot, markNoExist, readRef, repoCache, writeRef, COMMIT_RE, type RepoCache } from './cache.js';
import { defaultHubCacheDir, envHubIdleTimeoutMs, envHubMaxBytes, envHubTotalTimeoutMs, hubEndpoint, hubOffline, hubToken } from '../env.js';
import { isProcessAlive } from '../io/stale-temp.js';

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
  /** Cache root (default: HF_HUB_CACHE, $HF_HOME/hub or ~/.cache/huggingface/hub). */
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
  /**
   * Fail when the server sends nothing for this long, in ms (default: SDXS_HUB_IDLE_TIMEOUT seconds, else
   * 60 s). Applies to waiting for headers and between body chunks.
   */
  idleTimeoutMs?: number;
  /** Fail when one file takes longer than this, in ms (default: SDXS_HUB_TIMEOUT seconds, else 6 hours). */
  totalTimeoutMs?: number;
  /**
   * Largest file accepted, in bytes (default: SDXS_HUB_MAX_BYTES, else 50 GiB, the hub's own limit). A
   * server that states more is refused before the download; one that sends more than it stated, or
   * more than this when it states nothing, is cut off as soon as the bytes pass the limit.
   */
  maxBytes?: number;
}

/** Default idle timeout of hub downloads (ms). */
export const DEFAULT_HUB_IDLE_TIMEOUT_MS = 60_000;
/** Default total timeout of one hub file (ms). */
export const DEFAULT_HUB_TOTAL_TIMEOUT_MS = 6 * 3600_000;
/** Default largest hub file (bytes): 50 GiB, the largest file the hub itself stores. */
export const DEFAULT_HUB_MAX_BYTES = 50 * 2 ** 30;

interface RemoteMeta {
  commit: string | undefined;
  etag: string | undefined;
  /** The ETag header exactly as sent, for If-Range. */
  rawEtag: string | undefined;
  size: number | undefined;
  /** The size the HEAD stated (x-linked-size or Content-Length), independent of the GET. */
  statedSize: number | undefined;
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
  /** Aborted by the user's signal or by a timeout; `timedOut` says which timeout fired. */
  inner: AbortController;
  timedOut: string | undefined;
  idleMs: number;
  /** Largest number of bytes accepted for the file. */
  maxBytes: number;
  /** Restarts the idle timer (called on every response and chunk). */
  alive(): void;
}

const REPO_RE = /^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)?$/;
const inflight = new Map<string, Promise<string>>();

/** What a repo-relative path must be. */
export const HUB_PATH_RULE = "expected a relative path of names up to 255 bytes each (1024 characters in all), without control characters or '..'";

/** Repo-relative path of `filename` under `subfolder`, checked to stay inside the repo. */
export function hubRelPath(filename: string, subfolder?: string): string {
  const segs = [subfolder, filename].filter((s): s is string => !!s).flatMap((s) => s.split(/[\\/]+/)).filter((s) => s !== '' && s !== '.');
  const bad = segs.length === 0 || segs.includes('..') || segs.some((s) => /[\u0000-\u001f\u007f]/.test(s) || new TextEncoder().encode(s).length > 255);
  if (bad || segs.join('/').length > 1024) {
    const shown = JSON.stringify(clip([subfolder, filename].filter(Boolean).join('/'), 120));
    throw new HubError(`invalid file path ${shown}: ${HUB_PATH_RULE}`);
  }
  return segs.join('/');
}

/**
 * A revision (branch, tag or commit) becomes a folder name under snapshots/ and refs/: only
 * `[A-Za-z0-9_.-]` segments joined by '/', none of them '.' or '..' or starting with a dot.
 */
export function checkRevision(revision: string): void {
  const segs = revision.split('/');
  if (revision.length === 0 || revision.length > 256 || !segs.every((s) => /^[A-Za-z0-9_-][\w.-]*$/.test(s))) {
    throw new HubError(`invalid revision '${revision.slice(0, 80)}': expected a branch, tag or commit name (letters, digits, '_', '-', '.', '/'; no '..')`);
  }
}

/** Whether an ETag can name a blob file: word characters, '-' and '.', not starting with a dot. */
function etagFileName(etag: string | undefined): string | undefined {
  return etag && /^[\w-][\w.-]{0,127}$/.test(etag) ? etag : undefined;
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
  checkRevision(revision);
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
  const idleMs = opts.idleTimeoutMs ?? envHubIdleTimeoutMs() ?? DEFAULT_HUB_IDLE_TIMEOUT_MS;
  const totalMs = opts.totalTimeoutMs ?? envHubTotalTimeoutMs() ?? DEFAULT_HUB_TOTAL_TIMEOUT_MS;
  const inner = new AbortController();
  const onAbort = (): void => inner.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  let idle: ReturnType<typeof setTimeout> | undefined;
  const req: Request = {
    repoId,
    relPath,
    revision,
    endpoint,
    url: `${endpoint}/${repoId}/resolve/${encodeURIComponent(revision)}/${relPath.split('/').map(encodeURIComponent).join('/')}`,
    // Never a compressed reply: its size is not the file's, and it can inflate without bound.
    headers: token ? { authorization: `Bearer ${token}`, 'accept-encoding': 'identity' } : { 'accept-encoding': 'identity' },
    tokenGiven: !!token,
    fetch: opts.fetch ?? globalThis.fetch,
    signal: inner.signal,
    inner,
    timedOut: undefined,
    idleMs,
    maxBytes: opts.maxBytes ?? envHubMaxBytes() ?? DEFAULT_HUB_MAX_BYTES,
    alive() {
      clearTimeout(idle);
      idle = setTimeout(() => {
        req.timedOut = `no data from ${endpoint} for ${idleMs / 1000} s (idle timeout; raise it with SDXS_HUB_IDLE_TIMEOUT=<seconds> or idleTimeoutMs)`;
        inner.abort();
      }, idleMs);
    },
  };
  const total = setTimeout(() => {
    req.timedOut = `the download took longer than ${totalMs / 1000} s (total timeout; raise it with SDXS_HUB_TIMEOUT=<seconds> or totalTimeoutMs)`;
    inner.abort();
  }, totalMs);
  try {
    return await downloadWith(req, cache, opts);
  } catch (e) {
    if (req.timedOut && !opts.signal?.aborted && !(e instanceof HubError)) {
      throw new HubError(`download of '${relPath}' of '${repoId}' stopped: ${req.timedOut}; run again to resume`, undefined, { cause: e });
    }
    if (opts.signal?.aborted && !(e instanceof AbortError)) throw new AbortError(`download of '${relPath}' aborted`);
    throw e;
  } finally {
    clearTimeout(idle);
    clearTimeout(total);
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

async function downloadWith(req: Request, cache: RepoCache, opts: HubDownloadOptions): Promise<string> {
  const { repoId, relPath, revision } = req;
  const meta = await fetchMeta(req);
  if (meta.size !== undefined && meta.size > req.maxBytes) {
    throw new HubError(
      `'${relPath}' of '${repoId}': the server states ${meta.size} bytes, over the limit of ${req.maxBytes} ` +
        '(raise it with SDXS_HUB_MAX_BYTES=<bytes> or the maxBytes option if the file is genuine)',
    );
  }
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  await fs.mkdir(cache.blobs, { recursive: true });

  const etagName = etagFileName(meta.etag);
  let blob = etagName ? path.join(cache.blobs, etagName) : undefined;
  const blobSize = blob ? await sizeOf(blob) : undefined;
  if (blobSize === undefined || (meta.size !== undefined && blobSize !== meta.size)) {
    const partName = etagName ?? `url-${(await sha256Hex(new TextEncoder().encode(req.url))).slice(0, 32)}`;
    const partial = path.join(cache.blobs, `${partName}.incomplete`);
    const release = await lockFile(`${partial}.lock`, req);
    try {
      // Another process may have finished it while we waited for the lock.
      const done = blob ? await sizeOf(blob) : undefined;
      if (!(done !== undefined && (meta.size === undefined || done === meta.size))) {
        const { sha256, sha1, gitSha1, length } = await fetchBody(req, partial, meta, opts.onProgress);
        const problem = verify(meta, { sha256, sha1, gitSha1, length });
        if (problem) {
          await fs.rm(partial, { force: true });
          await fs.rm(`${partial}.etag`, { force: true });
          throw new HubError(`'${relPath}' of '${repoId}': ${problem}; the partial file was discarded, try again`);
        }
        blob = path.join(cache.blobs, etagName ?? sha256);
        await fs.rename(partial, blob);
        await fs.rm(`${partial}.etag`, { force: true });
      }
    } finally {
      await release();
    }
  }
  if (!blob) throw new HubError(`'${relPath}' of '${repoId}': internal error, no blob`);
  const snapshotDir = meta.commit ?? revision;
  if (meta.commit) await writeRef(cache, revision, meta.commit);
  return linkSnapshot(cache, snapshotDir, relPath, blob);
}

/**
 * Why the downloaded bytes cannot be trusted, or undefined when they are verified: by the sha256 of an
 * LFS ETag, the git blob sha1 of a regular file's ETag, or (for other ETags) the size the HEAD stated.
 */
function verify(meta: RemoteMeta, got: { sha256: string; sha1: string; gitSha1: string; length: number }): string | undefined {
  const etag = meta.etag?.toLowerCase();
  if (etag && /^[0-9a-f]{64}$/.test(etag)) return got.sha256 === etag ? undefined : `downloaded data has sha256 ${got.sha256} but the hub states ${etag}`;
  if (etag && /^[0-9a-f]{40}$/.test(etag)) return got.gitSha1 === etag || got.sha1 === etag ? undefined : `downloaded data has sha1 ${got.gitSha1} but the hub states ${etag}`;
  if (meta.statedSize !== undefined) return got.length === meta.statedSize ? undefined : `downloaded ${got.length} bytes but the server stated ${meta.statedSize}`;
  return 'cannot verify the download: the server stated neither a sha256/sha1 ETag nor the size';
}

/**
 * An exclusive lock file next to the partial download, so that two processes fetching the same file
 * do not write into one partial file or rename it from under each other. A lock whose process is gone
 * is taken over; waiting follows the download's signal and timeouts.
 */
async function lockFile(lock: string, req: Request): Promise<() => Promise<void>> {
  const fs = await import('node:fs/promises');
  for (;;) {
    throwIfAborted(req.signal);
    try {
      const fh = await fs.open(lock, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      return () => fs.rm(lock, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const pid = Number((await fs.readFile(lock, 'utf8').catch(() => '')).trim());
    if (!isProcessAlive(pid)) {
      await fs.rm(lock, { force: true });
      continue;
    }
    req.alive();
    await new Promise((r) => setTimeout(r, 100));
  }
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
  req.alive();
  try {
    const res = await req.fetch(url, { ...init, signal: req.signal });
    req.alive();
    return res;
  } catch (e) {
    if (req.timedOut) throw new HubError(`cannot download '${req.relPath}' of '${req.repoId}': ${req.timedOut}`, undefined, { cause: e });
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
  const meta: RemoteMeta = { commit: undefined, etag: undefined, rawEtag: undefined, size: undefined, statedSize: undefined };
  let url = req.url;
  for (let hop = 0; hop < 10; hop++) {
    const sameOrigin = new URL(url).origin === new URL(req.url).origin;
    const res = await send(req, url, { method: 'HEAD', redirect: 'manual', headers: sameOrigin ? req.headers : { 'accept-encoding': 'identity' } });
    await res.body?.cancel().catch(() => {});
    const h = res.headers;
    meta.commit ??= COMMIT_RE.test(h.get('x-repo-commit') ?? '') ? (h.get('x-repo-commit') as string) : undefined;
    if (meta.etag === undefined && h.get('x-linked-etag')) meta.rawEtag = h.get('x-linked-etag') ?? undefined;
    meta.etag ??= unquote(h.get('x-linked-etag'));
    const linkedSize = h.get('x-linked-size');
    if (meta.size === undefined && linkedSize && /^\d+$/.test(linkedSize)) meta.size = Number(linkedSize);
    const location = h.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      if (meta.etag) {
        meta.statedSize = meta.size;
        return meta; // a linked (LFS) file: the rest comes from the storage URL on GET
      }
      url = new URL(location, url).href;
      continue;
    }
    if (!res.ok) throw httpError(req, res);
    if (meta.etag === undefined && h.get('etag')) meta.rawEtag = h.get('etag') ?? undefined;
    meta.etag ??= unquote(h.get('etag'));
    const len = h.get('content-length');
    if (meta.size === undefined && len && /^\d+$/.test(len) && !h.get('content-encoding')) meta.size = Number(len);
    meta.statedSize = meta.size;
    return meta;
  }
  throw new HubError(`cannot download '${req.relPath}' of '${req.repoId}': too many redirects`);
}

interface BodyDigest {
  sha256: string;
  sha1: string;
  /** sha1 of `blob <size>\0<bytes>`: the git object id, the hub's ETag of a regular (non-LFS) file */
  gitSha1: string;
  length: number;
}

/** Feeds several hashes at once. */
class Hashes {
  constructor(private readonly hs: { update(b: Uint8Array): unknown }[]) {}
  update(b: Uint8Array): void {
    for (const h of this.hs) h.update(b);
  }
}

/**
 * GETs the file into `partial`, resuming from its current size only when the server can confirm it
 * is the same version (If-Range with the ETag); returns the digests of the whole file.
 */
async function fetchBody(req: Request, partial: string, meta: RemoteMeta, onProgress?: (p: HubProgress) => void): Promise<BodyDigest> {
  const fs = await import('node:fs/promises');
  const { createHash } = await import('node:crypto');
  let start = (await sizeOf(partial)) ?? 0;
  if (meta.size !== undefined && start > meta.size) start = 0;
  // Resuming must not splice two versions. A sha256 ETag (LFS) is verified at the end, so its partial
  // resumes as is; any other partial resumes only with If-Range set to the ETag recorded when it was
  // started, so that a server whose file changed sends it whole.
  const sidecar = `${partial}.etag`;
  const lfs = !!meta.etag && /^[0-9a-f]{64}$/i.test(meta.etag);
  const recorded = lfs ? undefined : await fs.readFile(sidecar, 'utf8').catch(() => undefined);
  if (!lfs && !recorded) start = 0;
  const resumeHeaders: Record<string, string> = recorded ? { range: `bytes=${start}-`, 'if-range': recorded } : { range: `bytes=${start}-` };
  const sha256 = createHash('sha256');
  const sha1 = createHash('sha1');
  const hash = new Hashes([sha256, sha1]);
  const progress = (loaded: number): void => onProgress?.({ file: req.relPath, loaded, total: meta.size });

  if (meta.size === undefined || start < meta.size) {
    let res = await send(req, req.url, { headers: start > 0 ? { ...req.headers, ...resumeHeaders } : req.headers });
    if (res.status === 416 && start > 0) {
      await res.body?.cancel().catch(() => {});
      start = 0;
      res = await send(req, req.url, { headers: req.headers });
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      throw httpError(req, res);
    }
    const encoding = res.headers.get('content-encoding');
    if (encoding && encoding.trim().toLowerCase() !== 'identity') {
      await res.body?.cancel().catch(() => {});
      throw new HubError(
        `download of '${req.relPath}' of '${req.repoId}' refused: the server sent it with Content-Encoding '${clip(encoding, 40)}', ` +
          'which was not asked for (only the file\'s own bytes are accepted)',
      );
    }
    const rangeStart = /^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '');
    if (res.status !== 206 || !rangeStart || Number(rangeStart[1]) !== start) start = 0; // the server sent it all
    if (meta.size === undefined) {
      const total = /\/(\d+)$/.exec(res.headers.get('content-range') ?? '');
      const len = res.headers.get('content-length');
      if (total) meta.size = Number(total[1]);
      else if (res.status === 200 && len && /^\d+$/.test(len) && !res.headers.get('content-encoding')) meta.size = Number(len);
    }
    // The most bytes this reply may carry: what is left of the stated size, else the cap.
    const limit = (meta.size ?? req.maxBytes) - start;
    const announced = res.headers.get('content-length');
    if (announced && /^\d+$/.test(announced) && Number(announced) > limit) {
      await res.body?.cancel().catch(() => {});
      throw new HubError(
        `download of '${req.relPath}' of '${req.repoId}' refused: the reply announces ${Number(announced)} bytes but ` +
          (meta.size !== undefined ? `the file is stated to be ${meta.size} bytes` : `the limit is ${req.maxBytes} bytes (SDXS_HUB_MAX_BYTES)`),
      );
    }
    if (start > 0) await hashFile(partial, start, hash);
    else {
      const tag = res.headers.get('etag') ?? meta.rawEtag;
      if (tag && !lfs) await fs.writeFile(sidecar, tag);
      else await fs.rm(sidecar, { force: true });
    }
    const fh = await fs.open(partial, start > 0 ? 'r+' : 'w');
    let loaded = start;
    let overflow = false;
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
              req.alive();
            } catch (e) {
              if (req.timedOut) throw new HubError(`download of '${req.relPath}' of '${req.repoId}' stopped: ${req.timedOut}; run again to resume`, undefined, { cause: e });
              if (req.signal?.aborted) throw new AbortError(`download of '${req.relPath}' aborted`);
              throw new HubError(`download of '${req.relPath}' of '${req.repoId}' interrupted (${(e as Error).message}); run again to resume`, undefined, { cause: e });
            }
            if (chunk.done) break;
            if (loaded - start + chunk.value.length > limit) {
              overflow = true;
              break;
            }
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
    if (overflow) {
      // The bytes on disk cannot be the file: none of them are kept.
      await fs.rm(partial, { force: true });
      await fs.rm(sidecar, { force: true });
      throw new HubError(
        `download of '${req.relPath}' of '${req.repoId}' stopped: the server sent more than ` +
          (meta.size !== undefined ? `the ${meta.size} bytes it stated` : `${req.maxBytes} bytes, the limit when no size is stated (raise it with SDXS_HUB_MAX_BYTES=<bytes>)`) +
          '; the partial file was discarded',
      );
    }
    if (meta.size !== undefined && loaded !== meta.size) {
      throw new HubError(`download of '${req.relPath}' of '${req.repoId}' ended at ${loaded} of ${meta.size} bytes; run again to resume`);
    }
  } else {
    await hashFile(partial, start, hash);
    progress(start);
  }
  const length = (await sizeOf(partial)) ?? 0;
  // The git object id needs the length first: a second pass, only for regular (sha1-ETag) files, which are small.
  let gitSha1 = '';
  if (meta.etag && /^[0-9a-f]{40}$/i.test(meta.etag)) {
    const git = createHash('sha1').update(`blob ${length}\0`);
    await hashFile(partial, length, git);
    gitSha1 = git.digest('hex');
  }
  return { sha256: sha256.digest('hex'), sha1: sha1.digest('hex'), gitSha1, length };
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
