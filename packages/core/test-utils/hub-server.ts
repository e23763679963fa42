/**
 * A local stand-in for the Hugging Face hub, for tests: serves folders as repos at
 * `/<owner>/<name>/resolve/<revision>/<path>` with ETag (sha256), x-repo-commit, HEAD and Range support,
 * and logs every request so tests can prove that a cached run makes none.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { sendFile } from './send-file.js';

export interface LocalHub {
  /** endpoint to pass as HF_ENDPOINT / `endpoint` */
  url: string;
  requests: string[];
  close(): Promise<void>;
}

export const LOCAL_HUB_COMMIT = '0123456789abcdef0123456789abcdef01234567';

/** repos: repo id → local folder. */
export async function startLocalHub(repos: Record<string, string>): Promise<LocalHub> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://hub');
      const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
      const dir = m ? repos[decodeURIComponent(m[1]!)] : undefined;
      if (!m || !dir) {
        res.writeHead(404, { 'x-error-code': 'RepoNotFound' }).end();
        return;
      }
      const rel = decodeURIComponent(m[3]!);
      const file = path.resolve(dir, rel);
      if (!file.startsWith(path.resolve(dir) + path.sep) || !(await stat(file).then((s) => s.isFile(), () => false))) {
        res.writeHead(404, { 'x-error-code': 'EntryNotFound', 'x-repo-commit': LOCAL_HUB_COMMIT }).end();
        return;
      }
      const body = await readFile(file);
      const sha = createHash('sha256').update(body).digest('hex');
      const headers: Record<string, string> = { etag: `"${sha}"`, 'x-repo-commit': LOCAL_HUB_COMMIT, 'accept-ranges': 'bytes', 'x-linked-etag': `"${sha}"` };
      const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      const start = range ? Number(range[1]) : 0;
      headers['content-length'] = String(body.length - start);
      if (range) headers['content-range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
      res.writeHead(range ? 206 : 200, headers);
      res.end(req.method === 'HEAD' ? undefined : body.subarray(start));
    })().catch((e: unknown) => {
      res.writeHead(500).end(String(e));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

export interface StaticServer {
  /** `http://localhost:<port>` (localhost, not 127.0.0.1: browsers treat it as a secure context) */
  url: string;
  /** `METHOD /path [range]` of every request */
  requests: string[];
  close(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/**
 * Serves plain folders over HTTP: `mounts` maps a URL prefix ('' or 'model', no slashes around it) to a
 * local folder. GET and HEAD, `Range: bytes=a-b` / `bytes=a-` (206 or 416), `/` → index.html, 404 otherwise.
 */
export async function startStaticServer(mounts: Record<string, string>): Promise<StaticServer> {
  const requests: string[] = [];
  // longest prefix first, so 'model/vae' wins over 'model' and '' comes last
  const entries = Object.entries(mounts).sort((a, b) => b[0].length - a[0].length);
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}${req.headers.range ? ` ${req.headers.range}` : ''}`);
    void (async () => {
      let pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      if (pathname.endsWith('/')) pathname += 'index.html';
      const mount = entries.find(([prefix]) => prefix === '' || pathname.startsWith(`/${prefix}/`));
      const dir = mount ? path.resolve(mount[1]) : undefined;
      const file = dir ? path.resolve(dir, `.${pathname.slice(mount![0] ? mount![0].length + 1 : 0)}`) : undefined;
      if (!dir || !file || !file.startsWith(dir + path.sep) || !(await stat(file).then((s) => s.isFile(), () => false))) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
        return;
      }
      sendFile(req, res, { body: await readFile(file), headers: { 'content-type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' } });
    })().catch((e: unknown) => {
      res.writeHead(500).end(String(e));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://localhost:${port}`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
