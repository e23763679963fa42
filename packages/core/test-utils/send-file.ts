/** Answering an HTTP request with a body, honouring `Range: bytes=a-b` / `bytes=a-` and HEAD (test servers). */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface ServedFile {
  body: Uint8Array;
  headers?: Record<string, string>;
  /** Answer 200 with the whole body even when a Range is asked for. */
  ignoreRange?: boolean;
}

/** Sends `file` for `req`, honouring `Range: bytes=a-b` / `bytes=a-`. */
export function sendFile(req: IncomingMessage, res: ServerResponse, file: ServedFile): void {
  const { body } = file;
  const headers: Record<string, string> = { 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream', ...file.headers };
  const range = req.headers.range;
  const m = range && !file.ignoreRange ? /^bytes=(\d+)-(\d*)$/.exec(range) : null;
  if (m) {
    const start = Number(m[1]);
    const end = m[2] ? Math.min(Number(m[2]), body.length - 1) : body.length - 1;
    if (start >= body.length || end < start) {
      res.writeHead(416, { ...headers, 'content-range': `bytes */${body.length}` });
      res.end();
      return;
    }
    res.writeHead(206, { ...headers, 'content-range': `bytes ${start}-${end}/${body.length}`, 'content-length': String(end - start + 1) });
    res.end(req.method === 'HEAD' ? undefined : body.subarray(start, end + 1));
    return;
  }
  res.writeHead(200, { ...headers, 'content-length': String(body.length) });
  res.end(req.method === 'HEAD' ? undefined : body);
}
