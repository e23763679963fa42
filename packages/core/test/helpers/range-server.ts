/** A local HTTP server for tests: serves in-memory files with ETag and Range support, and counts requests. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sendFile, type ServedFile } from '@sdxs/core/testing';

export { sendFile, type ServedFile };

export interface RequestLog {
  method: string;
  url: string;
  range: string | undefined;
  authorization: string | undefined;
}

export interface RangeServer {
  url: string;
  requests: RequestLog[];
  close(): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;

/** Starts a server on 127.0.0.1; `handler` runs first, then `files` by pathname, else 404. */
export async function startRangeServer(files: Map<string, ServedFile>, handler?: Handler): Promise<RangeServer> {
  const requests: RequestLog[] = [];
  const server: Server = createServer((req, res) => {
    requests.push({
      method: req.method ?? 'GET',
      url: req.url ?? '',
      range: req.headers.range,
      authorization: req.headers.authorization,
    });
    void (async () => {
      if (handler && (await handler(req, res))) return;
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      const file = files.get(path);
      if (!file) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found');
        return;
      }
      sendFile(req, res, file);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
