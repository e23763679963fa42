/**
 * Random-access byte sources for lazy readers: a file (positional reads, Node only), an HTTP(S) URL
 * (Range requests through fetch, works in browsers) or bytes in memory. Every failure is a
 * SafetensorsError naming the source; an aborted signal gives an AbortError.
 */
import { AbortError, SafetensorsError, throwIfAborted } from '../errors.js';

export interface ByteSource {
  /** What errors call the source: the path, the URL or the given name. */
  readonly name: string;
  /** Total size in bytes, when known. */
  readonly size: number | undefined;
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
  const fs = await import('node:fs/promises');
  let fh: Awaited<ReturnType<typeof fs.open>>;
  let size: number;
  try {
    fh = await fs.open(path, 'r');
  } catch (e) {
    if (isErrno(e) && e.code === 'ENOENT') throw new SafetensorsError(path, 'file not found');
    throw new SafetensorsError(path, `cannot open: ${(e as Error).message}`);
  }
  try {
    const st = await fh.stat();
    if (st.isDirectory()) throw new SafetensorsError(path, 'is a directory, not a file');
    size = st.size;
  } catch (e) {
    await fh.close().catch(() => {});
    if (e instanceof SafetensorsError) throw e;
    throw new SafetensorsError(path, `cannot stat: ${(e as Error).message}`);
  }
  let closed = false;
  return {
    name: path,
    size,
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
          const total = rangeTotal(res.headers.get('content-range'));
          if (total !== undefined) source.size = total;
          const start = /bytes\s+(\d+)-/.exec(res.headers.get('content-range') ?? '');
          if (start && Number(start[1]) !== offset) {
            throw new SafetensorsError(url, `server answered range from byte ${start[1]} instead of ${offset}`);
          }
          const body = new Uint8Array(await res.arrayBuffer());
          if (body.length < length) throw truncated(url, offset, length, total ?? offset + body.length);
          return body.length === length ? body : body.slice(0, length);
        }
        // 200: the server ignored Range; skip to the offset and keep what we need.
        const len = res.headers.get('content-length');
        if (len !== null && /^\d+$/.test(len)) source.size = Number(len);
        return await sliceStream(res, offset, length, url, signal);
      } catch (e) {
        if (e instanceof SafetensorsError || e instanceof AbortError) throw e;
        throw abortOrNetwork(e, url, signal);
      }
    },
    async close() {},
  };
  return source;
}

async function sliceStream(res: Response, offset: number, length: number, url: string, signal: AbortSignal | undefined): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  if (!res.body) throw truncated(url, offset, length, 0);
  const reader = res.body.getReader();
  let pos = 0;
  let filled = 0;
  try {
    while (filled < length) {
      throwIfAborted(signal);
      const { done, value } = await reader.read();
      if (done) throw truncated(url, offset, length, pos);
      const from = Math.max(0, offset - pos);
      const to = Math.min(value.length, offset + length - pos);
      if (to > from) {
        out.set(value.subarray(from, to), filled);
        filled += to - from;
      }
      pos += value.length;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return out;
}
