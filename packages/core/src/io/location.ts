/** Paths and URLs treated alike: joining, and reading small text files (configs, index JSON). */
import { AbortError } from '../errors.js';
import { LocalFileError, openLocalFile } from './local-file.js';

export type Location = string | URL;

function isHttp(s: string): boolean {
  return /^https?:\/\//i.test(s);
}

/** Joins path segments onto a directory path or URL (empty / undefined segments are skipped). */
export function joinLocation(base: Location, ...parts: (string | undefined)[]): string {
  const segs = parts.filter((p): p is string => !!p).flatMap((p) => p.split(/[\\/]+/).filter(Boolean));
  const b = String(base);
  if (segs.length === 0) return b;
  if (isHttp(b) || /^file:\/\//i.test(b)) {
    const u = new URL(b);
    if (!u.pathname.endsWith('/')) u.pathname += '/';
    u.pathname += segs.map(encodeURIComponent).join('/');
    return u.href;
  }
  if (b === '') return segs.join('/');
  const trimmed = b.replace(/[\\/]+$/, '');
  return `${trimmed === '' ? '/' : `${trimmed}/`}${segs.join('/')}`;
}

/** The directory part of a path or URL (everything up to the last slash). */
export function parentLocation(loc: Location): string {
  const s = String(loc);
  if (isHttp(s) || /^file:\/\//i.test(s)) return new URL('.', s).href;
  const i = Math.max(s.lastIndexOf('/'), s.lastIndexOf('\\'));
  return i < 0 ? '.' : i === 0 ? s.slice(0, 1) : s.slice(0, i);
}

export interface ReadTextOptions {
  fetch?: typeof fetch;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/**
 * Reads a text file from a path or URL. Returns undefined when it does not exist (ENOENT, HTTP 404);
 * throws a plain Error for other failures and an AbortError when aborted.
 */
export async function readTextLocation(loc: Location, opts: ReadTextOptions = {}): Promise<string | undefined> {
  const s = String(loc);
  if (isHttp(s)) {
    let res: Response;
    try {
      res = await (opts.fetch ?? globalThis.fetch)(s, { headers: opts.headers, signal: opts.signal });
    } catch (e) {
      if (opts.signal?.aborted) throw new AbortError(`reading ${s} aborted`);
      throw new Error(`request failed: ${(e as Error).message}`);
    }
    if (res.status === 404) {
      await res.body?.cancel().catch(() => {});
      return undefined;
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      throw new Error(`HTTP ${res.status} ${res.statusText}`.trim());
    }
    return await res.text();
  }
  let path = s;
  if (/^file:\/\//i.test(s)) path = (await import('node:url')).fileURLToPath(s);
  let fh: Awaited<ReturnType<typeof openLocalFile>>;
  try {
    fh = await openLocalFile(path);
  } catch (e) {
    if (e instanceof LocalFileError && e.code === 'ENOENT') return undefined;
    throw new Error((e as Error).message);
  }
  try {
    return await fh.readFile({ encoding: 'utf8', signal: opts.signal });
  } catch (e) {
    if (opts.signal?.aborted) throw new AbortError(`reading ${s} aborted`);
    throw new Error((e as Error).message);
  } finally {
    await fh.close().catch(() => {});
  }
}

/** Whether a path or URL exists (HEAD request for URLs). */
export async function locationExists(loc: Location, opts: ReadTextOptions = {}): Promise<boolean> {
  const s = String(loc);
  if (isHttp(s)) {
    try {
      const res = await (opts.fetch ?? globalThis.fetch)(s, { method: 'HEAD', headers: opts.headers, signal: opts.signal });
      return res.ok;
    } catch (e) {
      if (opts.signal?.aborted) throw new AbortError(`probing ${s} aborted`);
      return false;
    }
  }
  const fs = await import('node:fs/promises');
  const path = /^file:\/\//i.test(s) ? (await import('node:url')).fileURLToPath(s) : s;
  try {
    await fs.access(path);
    return true;
  } catch {
    return false;
  }
}
