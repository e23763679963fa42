import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readFile, readlink, readdir, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AbortError, HubError, InputError } from '../src/errors.js';
import { hubDownload, type HubProgress } from '../src/hub/download.js';
import { defaultHubCacheDir } from '../src/env.js';
import { hubSnapshot, resolveModelSource } from '../src/hub/snapshot.js';
import { serializeSafetensors } from '../src/io/safetensors-write.js';
import { sendFile, startRangeServer, type RangeServer } from './helpers/range-server.js';

const VAE_DIR = '/work/shared/fixtures/diffusers/vae-tiny';
const COMMIT = 'c0ffee0123456789abcdef0123456789abcdef01';
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const sha1 = (b: Uint8Array): string => createHash('sha1').update(b).digest('hex');

/** repo -> path -> bytes. Files ending in .safetensors behave like LFS files (302 to a CDN path). */
const repos = new Map<string, Map<string, Uint8Array>>();
const cdn = new Map<string, Uint8Array>();
let server: RangeServer;
let tmp: string;
let cacheN = 0;
let vaeWeights: Uint8Array;
let vaeConfig: Uint8Array;
let slowBody: Uint8Array;

/** Hostile or unusual servers, by repo: each gets the request first. */
const special = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>();

async function handler(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  const url = new URL(req.url ?? '/', 'http://x');
  const sm = /^\/([^/]+\/[^/]+)\/resolve\//.exec(url.pathname);
  const sp = sm ? special.get(decodeURIComponent(sm[1]!)) : undefined;
  if (sp) {
    sp(req, res);
    return true;
  }
  const cdnMatch = /^\/cdn\/([0-9a-f]{64})$/.exec(url.pathname);
  if (cdnMatch && cdn.has(cdnMatch[1]!)) {
    sendFile(req, res, { body: cdn.get(cdnMatch[1]!)!, headers: { etag: '"cdn-etag"' } });
    return true;
  }
  const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
  if (!m) return false;
  const [, repo, rev, file] = m.map(decodeURIComponent) as [string, string, string, string];
  const files = repos.get(repo);
  if (repo === 'acme/private') {
    const auth = req.headers.authorization;
    if (auth !== 'Bearer good-token') {
      res.writeHead(auth ? 403 : 401, { 'x-error-code': auth ? 'GatedRepo' : 'RepoNotFound' });
      res.end();
      return true;
    }
  }
  if (!files) {
    res.writeHead(404, { 'x-error-code': 'RepoNotFound' });
    res.end();
    return true;
  }
  if (rev !== 'main' && rev !== COMMIT) {
    res.writeHead(404, { 'x-error-code': 'RevisionNotFound' });
    res.end();
    return true;
  }
  const body = files.get(file);
  if (!body) {
    res.writeHead(404, { 'x-error-code': 'EntryNotFound', 'x-repo-commit': COMMIT });
    res.end();
    return true;
  }
  if (repo === 'acme/slow') {
    const range = req.method === 'GET' ? /^bytes=(\d+)-$/.exec(req.headers.range ?? '') : null;
    let pos = range ? Number(range[1]) : 0;
    const headers: Record<string, string> = { 'content-length': String(body.length - pos), etag: `"${sha256(body)}"`, 'x-repo-commit': COMMIT };
    if (range) headers['content-range'] = `bytes ${pos}-${body.length - 1}/${body.length}`;
    res.writeHead(range ? 206 : 200, headers);
    if (req.method === 'HEAD') return (res.end(), true);
    const timer = setInterval(() => {
      if (pos >= body.length || res.destroyed) {
        clearInterval(timer);
        res.end();
        return;
      }
      res.write(body.subarray(pos, pos + 65536));
      pos += 65536;
    }, 15);
    return true;
  }
  if (file.endsWith('.safetensors')) {
    const digest = sha256(body);
    cdn.set(digest, body);
    res.writeHead(302, {
      location: `/cdn/${digest}`,
      'x-linked-etag': `"${digest}"`,
      'x-linked-size': String(body.length),
      'x-repo-commit': COMMIT,
      etag: `"${sha1(body)}"`,
    });
    res.end();
    return true;
  }
  sendFile(req, res, { body, headers: { etag: `"${sha1(body)}"`, 'x-repo-commit': COMMIT } });
  return true;
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'sdxs-hub-'));
  vaeWeights = new Uint8Array(await readFile(join(VAE_DIR, 'diffusion_pytorch_model.safetensors')));
  vaeConfig = new Uint8Array(await readFile(join(VAE_DIR, 'config.json')));
  const shardA = serializeSafetensors({ a: { dtype: 'F32', shape: [1], data: new Float32Array([1]) } });
  const shardB = serializeSafetensors({ b: { dtype: 'F32', shape: [1], data: new Float32Array([2]) } });
  const index = JSON.stringify({ weight_map: { a: 'm-1.safetensors', b: 'm-2.safetensors' } });
  repos.set(
    'acme/vae-tiny',
    new Map([
      ['vae/config.json', vaeConfig],
      ['vae/diffusion_pytorch_model.safetensors', vaeWeights],
      ['unet/config.json', new TextEncoder().encode('{}')],
      ['unet/m.safetensors.index.json', new TextEncoder().encode(index)],
      ['unet/m-1.safetensors', shardA],
      ['unet/m-2.safetensors', shardB],
    ]),
  );
  repos.set('acme/private', new Map([['config.json', vaeConfig]]));
  slowBody = new Uint8Array(1 << 20).map((_, i) => (i * 7) & 255);
  repos.set('acme/slow', new Map([['big.bin', slowBody]]));
  server = await startRangeServer(new Map(), handler);
});
afterAll(async () => {
  await server.close();
  await rm(tmp, { recursive: true, force: true });
});

const savedEnv = { ...process.env };
afterEach(() => {
  for (const k of ['HF_HUB_OFFLINE', 'HF_TOKEN', 'HF_HUB_CACHE', 'HF_HOME', 'HF_ENDPOINT']) {
    if (savedEnv[k] === undefined) delete process.env[k];
    else process.env[k] = savedEnv[k];
  }
});

function freshCache(): string {
  return join(tmp, `cache-${cacheN++}`);
}

async function expectHubError(p: Promise<unknown>, re: RegExp): Promise<HubError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(HubError);
  expect((e as Error).message).toMatch(re);
  return e as HubError;
}

describe('hubDownload', () => {
  it('downloads into the HF cache layout, reports progress, and reuses the cache with zero requests', async () => {
    const cacheDir = freshCache();
    const progress: HubProgress[] = [];
    server.requests.length = 0;
    const opts = { cacheDir, endpoint: server.url, onProgress: (p: HubProgress) => progress.push(p) };
    const local = await hubDownload('acme/vae-tiny', 'diffusion_pytorch_model.safetensors', { ...opts, subfolder: 'vae' });
    const repoDir = join(cacheDir, 'models--acme--vae-tiny');
    expect(local).toBe(join(repoDir, 'snapshots', COMMIT, 'vae', 'diffusion_pytorch_model.safetensors'));
    expect(Buffer.from(await readFile(local)).equals(Buffer.from(vaeWeights))).toBe(true);
    expect((await lstat(local)).isSymbolicLink()).toBe(true);
    expect(await readlink(local)).toBe(join('..', '..', '..', 'blobs', sha256(vaeWeights)));
    expect((await readFile(join(repoDir, 'refs', 'main'), 'utf8')).trim()).toBe(COMMIT);
    expect(await readdir(join(repoDir, 'blobs'))).toEqual([sha256(vaeWeights)]);
    expect(progress.at(-1)).toEqual({ file: 'vae/diffusion_pytorch_model.safetensors', loaded: vaeWeights.length, total: vaeWeights.length });
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.loaded).toBeGreaterThanOrEqual(progress[i - 1]!.loaded);
    expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'HEAD /acme/vae-tiny/resolve/main/vae/diffusion_pytorch_model.safetensors',
      'GET /acme/vae-tiny/resolve/main/vae/diffusion_pytorch_model.safetensors',
      `GET /cdn/${sha256(vaeWeights)}`,
    ]);

    const cfg = await hubDownload('acme/vae-tiny', 'vae/config.json', opts);
    expect(await readFile(cfg, 'utf8')).toBe(new TextDecoder().decode(vaeConfig));
    expect((await readdir(join(repoDir, 'blobs'))).sort()).toEqual([sha1(vaeConfig), sha256(vaeWeights)].sort());

    server.requests.length = 0;
    expect(await hubDownload('acme/vae-tiny', 'diffusion_pytorch_model.safetensors', { ...opts, subfolder: 'vae' })).toBe(local);
    expect(await hubDownload('acme/vae-tiny', 'vae/diffusion_pytorch_model.safetensors', { ...opts, revision: COMMIT })).toBe(local);
    expect(await hubDownload('acme/vae-tiny', 'vae/config.json', { ...opts, offline: true })).toBe(cfg);
    process.env.HF_HUB_OFFLINE = '1';
    expect(await hubDownload('acme/vae-tiny', 'vae/config.json', opts)).toBe(cfg);
    expect(server.requests).toEqual([]);
  });

  it('resumes from a partial .incomplete file with a Range request', async () => {
    const cacheDir = freshCache();
    const blobs = join(cacheDir, 'models--acme--vae-tiny', 'blobs');
    await mkdir(blobs, { recursive: true });
    const digest = sha256(vaeWeights);
    await writeFile(join(blobs, `${digest}.incomplete`), vaeWeights.subarray(0, 100_000));
    server.requests.length = 0;
    const progress: number[] = [];
    const local = await hubDownload('acme/vae-tiny', 'vae/diffusion_pytorch_model.safetensors', {
      cacheDir,
      endpoint: server.url,
      onProgress: (p) => progress.push(p.loaded),
    });
    expect(Buffer.from(await readFile(local)).equals(Buffer.from(vaeWeights))).toBe(true);
    expect(server.requests.find((r) => r.url.startsWith('/cdn/'))?.range).toBe('bytes=100000-');
    expect(progress[0]).toBe(100_000);
    expect(await readdir(blobs)).toEqual([digest]);
  });

  it('rejects and discards a resumed download whose sha256 does not match', async () => {
    const cacheDir = freshCache();
    const blobs = join(cacheDir, 'models--acme--vae-tiny', 'blobs');
    await mkdir(blobs, { recursive: true });
    const digest = sha256(vaeWeights);
    await writeFile(join(blobs, `${digest}.incomplete`), new Uint8Array(5000).fill(1));
    await expectHubError(hubDownload('acme/vae-tiny', 'vae/diffusion_pytorch_model.safetensors', { cacheDir, endpoint: server.url }), /sha256/);
    expect(await readdir(blobs)).toEqual([]);
    const again = await hubDownload('acme/vae-tiny', 'vae/diffusion_pytorch_model.safetensors', { cacheDir, endpoint: server.url });
    expect(Buffer.from(await readFile(again)).equals(Buffer.from(vaeWeights))).toBe(true);
  });

  it('explains 404s, naming the repo and the file', async () => {
    const o = { cacheDir: freshCache(), endpoint: server.url };
    let e = await expectHubError(hubDownload('acme/vae-tiny', 'nope.bin', o), /file 'nope\.bin' not found in repository 'acme\/vae-tiny'/);
    expect(e.status).toBe(404);
    e = await expectHubError(hubDownload('acme/missing', 'config.json', o), /repository 'acme\/missing' not found/);
    expect(e.message).toContain("'config.json'");
    await expectHubError(hubDownload('acme/vae-tiny', 'vae/config.json', { ...o, revision: 'v9' }), /revision 'v9' not found/);
    await expectHubError(hubDownload('bad id!', 'config.json', o), /invalid repo id/);
    await expectHubError(hubDownload('acme/vae-tiny', '../x', o), /invalid file path/);
  });

  it('explains 401/403 with HF_TOKEN, and sends the token', async () => {
    const o = { cacheDir: freshCache(), endpoint: server.url };
    let e = await expectHubError(hubDownload('acme/private', 'config.json', o), /HF_TOKEN/);
    expect(e.status).toBe(401);
    e = await expectHubError(hubDownload('acme/private', 'config.json', { ...o, token: 'bad' }), /token given .* has no access/);
    expect(e.status).toBe(403);
    process.env.HF_TOKEN = 'good-token';
    const p = await hubDownload('acme/private', 'config.json', o);
    expect(await readFile(p, 'utf8')).toBe(new TextDecoder().decode(vaeConfig));
  });

  it('fails clearly offline on a cache miss, and on an unreachable endpoint', async () => {
    const cacheDir = freshCache();
    server.requests.length = 0;
    const e = await expectHubError(
      hubDownload('acme/vae-tiny', 'vae/config.json', { cacheDir, endpoint: server.url, offline: true }),
      /'vae\/config\.json' of 'acme\/vae-tiny'.*offline.*sdxs download/,
    );
    expect(e.message).toContain(cacheDir);
    process.env.HF_HUB_OFFLINE = 'true';
    await expectHubError(hubDownload('acme/vae-tiny', 'vae/config.json', { cacheDir, endpoint: server.url }), /offline/);
    expect(server.requests).toEqual([]);
    delete process.env.HF_HUB_OFFLINE;
    await expectHubError(hubDownload('acme/vae-tiny', 'vae/config.json', { cacheDir, endpoint: 'http://127.0.0.1:1' }), /cannot reach.*HF_HUB_OFFLINE=1/);
  });

  it('aborts via AbortSignal, keeps the partial file, and resumes later', async () => {
    const cacheDir = freshCache();
    const ac = new AbortController();
    const e = await hubDownload('acme/slow', 'big.bin', {
      cacheDir,
      endpoint: server.url,
      signal: ac.signal,
      onProgress: (p) => p.loaded >= 3 * 65536 && ac.abort(),
    }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AbortError);
    const blobs = join(cacheDir, 'models--acme--slow', 'blobs');
    const partial = (await readdir(blobs)).find((n) => n.endsWith('.incomplete'))!;
    expect(partial).toBe(`${sha256(slowBody)}.incomplete`);
    const partialSize = (await readFile(join(blobs, partial))).length;
    expect(partialSize).toBeGreaterThan(0);
    expect(partialSize).toBeLessThan(slowBody.length);
    await expect(hubDownload('acme/slow', 'big.bin', { cacheDir, endpoint: server.url, signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);

    server.requests.length = 0;
    const progress: number[] = [];
    const local = await hubDownload('acme/slow', 'big.bin', { cacheDir, endpoint: server.url, onProgress: (p) => progress.push(p.loaded) });
    expect(Buffer.from(await readFile(local)).equals(Buffer.from(slowBody))).toBe(true);
    expect(server.requests.find((r) => r.method === 'GET')?.range).toBe(`bytes=${partialSize}-`);
    expect(progress[0]).toBe(partialSize);
  }, 10_000);

  it('defaults the cache dir from HF_HUB_CACHE, else HF_HOME', async () => {
    delete process.env.HF_HUB_CACHE;
    process.env.HF_HOME = '/h';
    expect(await defaultHubCacheDir()).toBe(join('/h', 'hub'));
    process.env.HF_HUB_CACHE = '/c';
    expect(await defaultHubCacheDir()).toBe('/c');
    // an environment of its own (the CLI's) is read instead of the process's
    expect(await defaultHubCacheDir({ HF_HOME: '/other' })).toBe(join('/other', 'hub'));
    process.env.HF_ENDPOINT = server.url;
    process.env.HF_HUB_CACHE = freshCache();
    expect(await hubDownload('acme/vae-tiny', 'vae/config.json')).toContain(process.env.HF_HUB_CACHE);
  });
});

describe('resolveModelSource and hubSnapshot', () => {
  it('returns local folders unchanged and rejects missing ones', async () => {
    expect(await resolveModelSource(VAE_DIR)).toBe(VAE_DIR);
    expect(await resolveModelSource('/work/shared/fixtures/diffusers', { subfolder: 'vae-tiny' })).toBe(VAE_DIR);
    await expect(resolveModelSource('./no/such/folder')).rejects.toThrow(InputError);
    await expect(resolveModelSource('./no/such/folder')).rejects.toThrow(/does not exist/);
  });

  it('returns an http(s) folder URL joined with the subfolder, without any request or file access', async () => {
    const n = server.requests.length;
    const base = `${server.url}/acme/vae-tiny/resolve/main`;
    expect(await resolveModelSource(base, { subfolder: 'vae', files: ['config.json'], checkpoints: ['diffusion_pytorch_model'] })).toBe(`${base}/vae`);
    expect(await resolveModelSource(`${base}/`, { subfolder: 'text encoder/' })).toBe(`${base}/text%20encoder`);
    expect(await resolveModelSource('HTTPS://example.com/m')).toBe('HTTPS://example.com/m');
    expect(server.requests.length).toBe(n);
  });

  it('downloads the requested files, single or sharded checkpoints, into one snapshot folder', async () => {
    const cacheDir = freshCache();
    const o = { cacheDir, endpoint: server.url };
    const vae = await resolveModelSource('acme/vae-tiny', { ...o, subfolder: 'vae', files: ['config.json'], checkpoints: ['diffusion_pytorch_model'], optionalFiles: ['nothing.json'] });
    const root = join(cacheDir, 'models--acme--vae-tiny', 'snapshots', COMMIT);
    expect(vae).toBe(join(root, 'vae'));
    expect((await readdir(vae)).sort()).toEqual(['config.json', 'diffusion_pytorch_model.safetensors']);
    const unet = await resolveModelSource('acme/vae-tiny', { ...o, subfolder: 'unet', checkpoints: ['m'] });
    expect((await readdir(unet)).sort()).toEqual(['m-1.safetensors', 'm-2.safetensors', 'm.safetensors.index.json']);
    server.requests.length = 0;
    expect(await resolveModelSource('acme/vae-tiny', { ...o, subfolder: 'unet', checkpoints: ['m'], offline: true })).toBe(unet);
    expect(server.requests).toEqual([]);
    await expectHubError(resolveModelSource('acme/vae-tiny', { ...o, subfolder: 'unet', checkpoints: ['zzz'] }), /neither 'unet\/zzz\.safetensors' nor/);
    expect(await hubSnapshot('acme/vae-tiny', ['vae/config.json', 'unet/config.json'], o)).toBe(root);
  });
});

describe('hub cache hardening', () => {
  /** A file whose content (and ETag, not a hash and not a file name) changes with `version`; Range honoured only with a matching If-Range. */
  function changingRepo(repo: string, versions: Uint8Array[], state: { v: number }, etag = (v: number): string => `"v${v}:opaque"`): void {
    special.set(repo, (req, res) => {
      const body = versions[state.v]!;
      const tag = etag(state.v);
      const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      const ifRange = req.headers['if-range'];
      const partial = range && (ifRange === undefined || ifRange === tag);
      const start = partial ? Number(range[1]) : 0;
      const headers: Record<string, string> = { etag: tag, 'x-repo-commit': COMMIT, 'content-length': String(body.length - start) };
      if (partial) headers['content-range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
      res.writeHead(partial ? 206 : 200, headers);
      res.end(req.method === 'HEAD' ? undefined : body.subarray(start));
    });
  }

  it('a resumed download after the file changed on the server never splices two versions (If-Range)', async () => {
    const v0 = new Uint8Array(4000).fill(1);
    const v1 = new Uint8Array(4000).fill(2);
    const state = { v: 1 };
    changingRepo('acme/changing', [v0, v1], state);
    const cacheDir = freshCache();
    const blobs = join(cacheDir, 'models--acme--changing', 'blobs');
    await mkdir(blobs, { recursive: true });
    const url = `${server.url}/acme/changing/resolve/main/f.bin`;
    // A killed run left the first half of version 0.
    await writeFile(join(blobs, `url-${sha256(new TextEncoder().encode(url)).slice(0, 32)}.incomplete`), v0.subarray(0, 2000));
    const partial = join(blobs, `url-${sha256(new TextEncoder().encode(url)).slice(0, 32)}.incomplete`);
    const local = await hubDownload('acme/changing', 'f.bin', { cacheDir, endpoint: server.url });
    expect(Buffer.from(await readFile(local)).equals(Buffer.from(v1))).toBe(true);
    // A partial that recorded its ETag resumes with If-Range: same version -> 206, changed -> whole file.
    const again = freshCache();
    const blobs2 = join(again, 'models--acme--changing', 'blobs');
    await mkdir(blobs2, { recursive: true });
    const p2 = join(blobs2, partial.split('/').pop()!);
    await writeFile(p2, v1.subarray(0, 2000));
    await writeFile(`${p2}.etag`, '"v1:opaque"');
    server.requests.length = 0;
    expect(Buffer.from(await readFile(await hubDownload('acme/changing', 'f.bin', { cacheDir: again, endpoint: server.url }))).equals(Buffer.from(v1))).toBe(true);
    expect(server.requests.find((r) => r.method === 'GET')?.range).toBe('bytes=2000-');
    const third = freshCache();
    const blobs3 = join(third, 'models--acme--changing', 'blobs');
    await mkdir(blobs3, { recursive: true });
    const p3 = join(blobs3, partial.split('/').pop()!);
    await writeFile(p3, v0.subarray(0, 2000));
    await writeFile(`${p3}.etag`, '"v0:opaque"');
    expect(Buffer.from(await readFile(await hubDownload('acme/changing', 'f.bin', { cacheDir: third, endpoint: server.url }))).equals(Buffer.from(v1))).toBe(true);
  });

  it('a short body is never cached as complete when the ETag is not a sha256', async () => {
    const full = new Uint8Array(3000).map((_, i) => i & 255);
    // HEAD states no size; the GET claims (and sends) a short Content-Length.
    special.set('acme/short', (req, res) => {
      const headers: Record<string, string> = { etag: `"${sha1(full)}"`, 'x-repo-commit': COMMIT };
      if (req.method === 'HEAD') return res.writeHead(200, headers).end();
      res.writeHead(200, { ...headers, 'content-length': '1000' }).end(full.subarray(0, 1000));
    });
    const cacheDir = freshCache();
    await expectHubError(hubDownload('acme/short', 'f.bin', { cacheDir, endpoint: server.url }), /sha1/);
    expect((await readdir(join(cacheDir, 'models--acme--short', 'blobs'))).filter((f) => !f.endsWith('.lock'))).toEqual([]);
    // An opaque ETag and no stated size cannot be verified at all: not cached either.
    special.set('acme/opaque', (req, res) => {
      const headers: Record<string, string> = { etag: '"opaque"', 'x-repo-commit': COMMIT };
      if (req.method === 'HEAD') return res.writeHead(200, headers).end();
      res.writeHead(200, headers).end(full.subarray(0, 1000));
    });
    await expectHubError(hubDownload('acme/opaque', 'f.bin', { cacheDir, endpoint: server.url }), /cannot verify/);
  });

  it('revisions and ETags that would become unsafe paths are refused or renamed', async () => {
    const cacheDir = freshCache();
    for (const revision of ['../../..', '..', 'a/../../b', '.hidden', 'main/', '/abs', 'x\\y']) {
      await expectHubError(hubDownload('acme/vae-tiny', 'vae/config.json', { cacheDir, endpoint: server.url, revision }), /invalid revision/);
    }
    expect(await readdir(tmp).then((l) => l.filter((f) => !f.startsWith('cache-')))).toEqual([]);
    for (const tag of ['.', '..']) {
      const body = new TextEncoder().encode(`etag ${tag}`);
      special.set('acme/dots', (req, res) => {
        const headers = { etag: `"${tag}"`, 'x-repo-commit': COMMIT, 'content-length': String(body.length) };
        res.writeHead(200, headers).end(req.method === 'HEAD' ? undefined : body);
      });
      const local = await hubDownload('acme/dots', 'f.txt', { cacheDir: freshCache(), endpoint: server.url });
      expect(Buffer.from(await readFile(local)).equals(Buffer.from(body))).toBe(true);
    }
  });

  it('two processes downloading the same file both succeed with one blob', async () => {
    const cacheDir = freshCache();
    await mkdir(cacheDir, { recursive: true });
    const alias = `${cacheDir}-alias`;
    const { symlink } = await import('node:fs/promises');
    await symlink(cacheDir, alias);
    // Two cache paths to one folder: the in-process de-duplication does not apply, as with two processes.
    const [a, b] = await Promise.all([
      hubDownload('acme/slow', 'big.bin', { cacheDir, endpoint: server.url }),
      hubDownload('acme/slow', 'big.bin', { cacheDir: alias, endpoint: server.url }),
    ]);
    for (const p of [a, b]) expect(Buffer.from(await readFile(p)).equals(Buffer.from(slowBody))).toBe(true);
    expect(await readdir(join(cacheDir, 'models--acme--slow', 'blobs'))).toEqual([sha256(slowBody)]);
  });

  it('a stalled server and a trickling one fail with idle and total timeouts', async () => {
    const body = new Uint8Array(100).fill(3);
    special.set('acme/stall', (req, res) => {
      const headers = { etag: `"${sha256(body)}"`, 'x-repo-commit': COMMIT, 'content-length': String(body.length) };
      if (req.method === 'HEAD') return res.writeHead(200, headers).end();
      res.writeHead(200, headers);
      res.write(body.subarray(0, 10)); // then nothing
    });
    const t0 = performance.now();
    await expectHubError(hubDownload('acme/stall', 'f.bin', { cacheDir: freshCache(), endpoint: server.url, idleTimeoutMs: 300 }), /idle timeout.*SDXS_HUB_IDLE_TIMEOUT/);
    special.set('acme/trickle', (req, res) => {
      const headers = { etag: `"${sha256(body)}"`, 'x-repo-commit': COMMIT, 'content-length': String(body.length) };
      if (req.method === 'HEAD') return res.writeHead(200, headers).end();
      res.writeHead(200, headers);
      let i = 0;
      const timer = setInterval(() => {
        if (res.destroyed || i >= body.length) return clearInterval(timer);
        res.write(body.subarray(i, ++i));
      }, 50);
    });
    await expectHubError(hubDownload('acme/trickle', 'f.bin', { cacheDir: freshCache(), endpoint: server.url, idleTimeoutMs: 300, totalTimeoutMs: 800 }), /total timeout.*SDXS_HUB_TIMEOUT/);
    expect(performance.now() - t0).toBeLessThan(5000);
  });
});

describe('hub downloads from a hostile server stay bounded', () => {
  /** Serves `total` bytes in 64 KiB writes (as fast as the client takes them), with `headers` on HEAD and GET; counts what was written. */
  function floodRepo(repo: string, headHeaders: Record<string, string>, getHeaders: Record<string, string>, total: number): { sent: number } {
    const state = { sent: 0 };
    special.set(repo, (req, res) => {
      if (req.method === 'HEAD') return res.writeHead(200, { 'x-repo-commit': COMMIT, ...headHeaders }).end();
      res.writeHead(200, { 'x-repo-commit': COMMIT, ...getHeaders });
      const chunk = new Uint8Array(65536).fill(7);
      const pump = (): void => {
        while (!res.destroyed && state.sent < total) {
          state.sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        if (!res.destroyed) res.end();
      };
      res.on('close', () => res.destroy());
      pump();
    });
    return state;
  }

  async function leftovers(cacheDir: string, repo: string): Promise<string[]> {
    return readdir(join(cacheDir, `models--${repo.replace('/', '--')}`, 'blobs')).catch(() => []);
  }

  it('a body longer than the size the HEAD stated is cut off at once, the partial file deleted and the lock released', async () => {
    const flood = floodRepo('acme/endless', { etag: '"endless"', 'content-length': '100' }, { etag: '"endless"' }, 256 << 20);
    const cacheDir = freshCache();
    const t0 = performance.now();
    await expectHubError(hubDownload('acme/endless', 'f.bin', { cacheDir, endpoint: server.url }), /sent more than the 100 bytes it stated.*discarded/);
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(flood.sent).toBeLessThan(32 << 20);
    expect(await leftovers(cacheDir, 'acme/endless')).toEqual([]);
  });

  it('a reply that announces more bytes than the stated size is refused before its body is read', async () => {
    const flood = floodRepo('acme/announce', { etag: '"ann"', 'content-length': '100' }, { etag: '"ann"', 'content-length': String(64 << 20) }, 64 << 20);
    const cacheDir = freshCache();
    await expectHubError(hubDownload('acme/announce', 'f.bin', { cacheDir, endpoint: server.url }), /announces 67108864 bytes but the file is stated to be 100 bytes/);
    expect(flood.sent).toBeLessThan(32 << 20);
    expect(await leftovers(cacheDir, 'acme/announce')).toEqual([]);
  });

  it('with no size stated, the cap (maxBytes or SDXS_HUB_MAX_BYTES) cuts the body off', async () => {
    const flood = floodRepo('acme/nosize', { etag: `"${'ab'.repeat(32)}"` }, { etag: `"${'ab'.repeat(32)}"` }, 256 << 20);
    const cacheDir = freshCache();
    await expectHubError(hubDownload('acme/nosize', 'f.bin', { cacheDir, endpoint: server.url, maxBytes: 300_000 }), /more than 300000 bytes, the limit when no size is stated.*SDXS_HUB_MAX_BYTES/);
    expect(flood.sent).toBeLessThan(32 << 20);
    expect(await leftovers(cacheDir, 'acme/nosize')).toEqual([]);
    process.env.SDXS_HUB_MAX_BYTES = '200000';
    try {
      await expectHubError(hubDownload('acme/nosize', 'f.bin', { cacheDir, endpoint: server.url }), /more than 200000 bytes/);
      process.env.SDXS_HUB_MAX_BYTES = 'lots';
      await expectHubError(hubDownload('acme/nosize', 'f.bin', { cacheDir, endpoint: server.url }), /SDXS_HUB_MAX_BYTES must be a positive whole number/);
    } finally {
      delete process.env.SDXS_HUB_MAX_BYTES;
    }
  });

  it('a stated size over the cap is refused without a GET', async () => {
    floodRepo('acme/huge', { etag: '"huge"', 'content-length': String(2 ** 40) }, { etag: '"huge"' }, 1 << 20);
    server.requests.length = 0;
    await expectHubError(hubDownload('acme/huge', 'f.bin', { cacheDir: freshCache(), endpoint: server.url }), /states 1099511627776 bytes, over the limit of 53687091200.*SDXS_HUB_MAX_BYTES/);
    expect(server.requests.map((r) => r.method)).toEqual(['HEAD']);
  });

  it('a Content-Encoding the client did not ask for is refused, and identity is asked for', async () => {
    const { gzipSync } = await import('node:zlib');
    const packed = gzipSync(new Uint8Array(4 << 20)); // 4 MiB of zeros in a few KB
    let asked: string | undefined;
    special.set('acme/gzip', (req, res) => {
      asked = req.headers['accept-encoding'];
      const headers = { etag: '"gz"', 'x-repo-commit': COMMIT, 'content-encoding': 'gzip', 'content-length': String(packed.length) };
      res.writeHead(200, headers).end(req.method === 'HEAD' ? undefined : packed);
    });
    const cacheDir = freshCache();
    await expectHubError(hubDownload('acme/gzip', 'f.bin', { cacheDir, endpoint: server.url }), /Content-Encoding 'gzip', which was not asked for/);
    expect(asked).toBe('identity');
    expect(await leftovers(cacheDir, 'acme/gzip')).toEqual([]);
  });

  it('NUL bytes and over-long shard names in a remote weight_map are typed errors naming the index and tensor', async () => {
    const { SafetensorsError } = await import('../src/errors.js');
    for (const [name, shard] of [
      ['nul', 'm-1\u0000.safetensors'],
      ['long', `${'x'.repeat(5000)}.safetensors`],
      ['long-segment', `d/${'y'.repeat(300)}.safetensors`],
      ['number', 7],
    ] as const) {
      const repo = `acme/badmap-${name}`;
      repos.set(repo, new Map([['m.safetensors.index.json', new TextEncoder().encode(JSON.stringify({ weight_map: { 'w.weight': shard } }))]]));
      const e = await resolveModelSource(repo, { cacheDir: freshCache(), endpoint: server.url, checkpoints: ['m'] }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(SafetensorsError);
      expect((e as Error).message).toMatch(/m\.safetensors\.index\.json \[tensor 'w\.weight'\]: weight_map entry/);
      expect((e as Error).message.length).toBeLessThan(2000);
    }
    await expectHubError(hubDownload('acme/vae-tiny', 'a\u0000b.json', { cacheDir: freshCache(), endpoint: server.url }), /invalid file path/);
    await expectHubError(hubDownload('acme/vae-tiny', 'z'.repeat(5000), { cacheDir: freshCache(), endpoint: server.url }), /invalid file path .*…/);
  });
});
