/** The check that ort-* runs before starting in the page: is the .wasm really served, or an HTML page in its place? */
import { mkdtemp, rm, writeFile, copyFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStaticServer, type StaticServer } from '@sdxs/core/testing';
import { wasmFileProblem } from '../src/wasm-check.js';

let dir: string;
let server: StaticServer;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sdxs-wasm-check-'));
  const wasm = createRequire(import.meta.url).resolve('onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm');
  await copyFile(wasm, path.join(dir, 'ort.wasm'));
  // what a dev server or an SPA host answers for a file it does not have
  await writeFile(path.join(dir, 'fallback.wasm'), '<!doctype html><html><body>app</body></html>');
  server = await startStaticServer({ '': dir });
});

afterAll(async () => {
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('wasmFileProblem', () => {
  test("onnxruntime-web's real .wasm passes, reading only its first bytes", async () => {
    expect(await wasmFileProblem(`${server.url}/ort.wasm`)).toBeNull();
    expect(server.requests.at(-1)).toMatch(/bytes=0-3$/);
  });
  test('an HTML page in place of the .wasm is named as such, with the bytes found', async () => {
    const p = await wasmFileProblem(`${server.url}/fallback.wasm`);
    expect(p).toContain('starts with 3c 21 64 6f instead of 00 61 73 6d');
    expect(p).toContain('an HTML page');
  });
  test('a missing file and an unreachable server are problems too', async () => {
    expect(await wasmFileProblem(`${server.url}/missing.wasm`)).toMatch(/answered 404$/);
    expect(await wasmFileProblem('http://127.0.0.1:1/x.wasm')).toContain('could not be fetched');
  });
});
