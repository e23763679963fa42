/**
 * Random-access byte sources for lazy readers: a file (positional reads, Node only), an HTTP(S) URL
 * (Range requests through fetch, works in browsers) or bytes in memory. Every failure is a
 * SafetensorsError naming the source; an aborted signal gives an AbortError.
 */
import { AbortError, SafetensorsError, throwIfAborted } from '../errors.js';
import { openLocalFile } from './local-file.js';

export interface ByteSource {
  /** What errors call the source: the path, the URL or the given name. */
  readonly name: string;
  /** Total size in bytes, when known. */
  readonly size: number | undefined;
  /** A local file: its resolved path and modification time (what a reader that opens it again checks). */
  readonly local?: { readonly path: string; readonly mtimeMs: number };
  /** Exactly `length` bytes from `offset`, in a fresh buffer starting at byte 0. */
  read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array>;
  close(): Promise<void>;
}

export interface HttpSourceOptions {
  /** fetch to use (defaults to the global one). */
  fetch?: typeof fetch;
  /** Extra request headers, e.g. `{ authorization: 'Bearer …' }`. */
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

function truncated(name: string, offset: number, length: number, size: number | string): SafetensorsError {
  return new SafetensorsError(name, `file truncated: bytes ${offset}..${offset + length} requested but the source has ${size} bytes`);
}

export function memorySource(bytes: Uint8Array, name = '<memory>'): ByteSource {
  return {
    name,
    size: bytes.byteLength,
    async read(offset, length) {
      if (offset < 0 || length < 0 || offset + length > bytes.byteLength) throw truncated(name, offset, length, bytes.byteLength);
      return bytes.slice(offset, offset + length);
    },
    async close() {},
  };
}

const READ_CHUNK = 1 << 30;

function isErrno(e: unknown): e is NodeJS.ErrnoException {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string';
}

/** Opens a file for positional reads. Offsets are Numbers, exact up to 2^53 (files far beyond 4 GiB). */
export async function fileSource(path: string): Promise<ByteSource> {
  let fh: Awaited<ReturnType<typeof openLocalFile>>;
  let size: number;
  let local: { path: string; mtimeMs: number };
  try {
    fh = await openLocalFile(path);
    const st = await fh.stat();
    size = st.size;
    local = { path: await (await import('node:fs/promises')).realpath(path), mtimeMs: st.mtimeMs };
  } catch (e) {
    throw new SafetensorsError(path, (e as Error).message);
  }
  let closed = false;
  return {
    name: path,
    size,
    local,
    async read(offset, length, signal) {
      if (closed) throw new SafetensorsError(path, 'file is closed');
      if (offset < 0 || length < 0 || offset + length > size) throw truncated(path, offset, length, size);
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        throwIfAborted(signal);
        const want = Math.min(READ_CHUNK, length - done);
        let n: number;
        try {
          ({ bytesRead: n } = await fh.read(out, done, want, offset + done));
        } catch (e) {
          throw new SafetensorsError(path, `read failed at byte ${offset + done}: ${(e as Error).message}`);
        }
        if (n === 0) throw truncated(path, offset, length, offset + done);
        done += n;
      }
      return out;
    },
    async close() {
      if (closed) return;
      closed = true;
      await fh.close();
    },
  };
}

function abortOrNetwork(e: unknown, url: string, signal: AbortSignal | undefined): Error {
  if (signal?.aborted || (e instanceof Error && e.name === 'AbortError')) return new AbortError(`reading ${url} aborted`);
  return new SafetensorsError(url, `request failed: ${(e as Error).message}${(e as Error).cause ? ` (${String((e as Error).cause)})` : ''}`);
}

/** Parses the total of `Content-Range: bytes a-b/total`. */
function rangeTotal(h: string | null): number | undefined {
  const m = h && /\/(\d+)\s*$/.exec(h);
  return m ? Number(m[1]) : undefined;
}

/** Reads a range of an HTTP(S) resource with `Range` requests; handles servers that ignore Range. */
export async function httpSource(url: string, opts: HttpSourceOptions = {}): Promise<ByteSource> {
  const doFetch = opts.fetch ?? globalThis.fetch;
  const source: ByteSource & { size: number | undefined } = {
    name: url,
    size: undefined,
    async read(offset, length, signal = opts.signal) {
      if (length === 0) return new Uint8Array(0);
      throwIfAborted(signal);
      if (source.size !== undefined && offset + length > source.size) throw truncated(url, offset, length, source.size);
      let res: Response;
      try {
        res = await doFetch(url, { headers: { ...opts.headers, range: `bytes=${offset}-${offset + length - 1}` }, signal });
      } catch (e) {
        throw abortOrNetwork(e, url, signal);
      }
      try {
        if (res.status === 416) {
          throw truncated(url, offset, length, rangeTotal(res.headers.get('content-range')) ?? 'fewer');
        }
        if (res.status !== 206 && res.status !== 200) {
          throw new SafetensorsError(url, `HTTP ${res.status} ${res.statusText}`.trim());
        }
        if (res.status === 206) {
          const cr = res.headers.get('content-range') ?? '';
          const total = rangeTotal(cr);
          if (total !== undefined) source.size = total;
          const span = /bytes\s+(\d+)-(\d+)/.exec(cr);
          if (span && Number(span[1]) !== offset) {
            throw new SafetensorsError(url, `server answered range from byte ${span[1]} instead of ${offset}`);
          }
          const end = span ? Number(span[2]) + 1 : undefined;
          if (end !== undefined && end > offset + length) {
            throw new SafetensorsError(url, `server answered bytes ${offset}..${end} to a request for ${offset}..${offset + length}; refusing the mismatched reply`);
          }
          if (end !== undefined && end < offset + length) throw truncated(url, offset, length, total ?? end);
          const len = contentLength(res);
          if (len !== undefined && len !== length) {
            throw new SafetensorsError(url, `server sent Content-Length ${len} for a ${length}-byte range; refusing the mismatched reply`);
          }
          return await readStream(res, 0, length, url, signal, true);
        }
        // 200: the server ignored Range; skip to the offset and keep what we need (never more).
        const len = contentLength(res);
        if (len !== undefined) {
          source.size = len;
          if (offset + length > len) throw truncated(url, offset, length, len);
        }
        return await readStream(res, offset, length, url, signal, false);
      } catch (e) {
        if (e instanceof SafetensorsError || e instanceof AbortError) throw e;
        throw abortOrNetwork(e, url, signal);
      } finally {
        // Whatever the server still sends is not read.
        await res.body?.cancel().catch(() => {});
      }
    },
    async close() {},
  };
  return source;
}

function contentLength(res: Response): number | undefined {
  const len = res.headers.get('content-length');
  return len !== null && /^\d+$/.test(len.trim()) ? Number(len) : undefined;
}

/**
 * Bytes [skip, skip + length) of a response body. Memory grows with the bytes actually received, never
 * with the bytes asked for (a header can claim a 4 GB tensor), and reading stops at skip + length: a
 * server that streams more is cut off. `exact`: the body should be exactly `length` bytes, and more
 * is a mismatched reply.
 */
async function readStream(res: Response, skip: number, length: number, url: string, signal: AbortSignal | undefined, exact: boolean): Promise<Uint8Array> {
  if (!res.body) throw truncated(url, skip, length, 0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let pos = 0;
  let filled = 0;
  try {
    while (filled < length) {
      throwIfAborted(signal);
      const { done, value } = await reader.read();
      if (done) throw truncated(url, skip, length, exact ? filled : pos);
      const from = Math.max(0, skip - pos);
      const to = Math.min(value.length, skip + length - pos);
      if (exact && value.length > length - filled) {
        throw new SafetensorsError(url, `server sent more than the ${length} bytes asked for; refusing the mismatched reply`);
      }
      if (to > from) {
        chunks.push(value.subarray(from, to));
        filled += to - from;
      }
      pos += value.length;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  if (chunks.length === 1 && chunks[0]!.byteOffset === 0 && chunks[0]!.length === chunks[0]!.buffer.byteLength) return chunks[0]!;
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
