/**
 * The page under Vite's dev server (`npm run dev -w @sdxs/web`) in headless Chromium: onnxruntime-web's
 * .wasm must be served there too (the dev server answers files it does not have with index.html), so ort-cpu
 * upscales (in the page's module worker, which the dev server serves as a module) and equals Node; `auto` on SwiftShader's software WebGPU runs on the CPU and says why; an upscale
 * dropped on the page shows compiling as its own stage and a time left that moves between tile reports.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Browser, type Page, type Response } from 'playwright-core';
import type { ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as C from '@sdxs/core';
import { encodePng } from '@sdxs/pipeline';
import { AsymmetricAutoencoderKL, upscale } from '@sdxs/vae';
import { maxAbsDiff, skipUnless } from '@sdxs/core/testing';
import { makeTinyModel } from '../../../tools/make-tiny-model.js';
import type { HookImage, HookUpscaleRequest, SdxsHook } from '../src/test-hook.js';
import { CHROMIUM_PATH, HAVE_CHROMIUM, startDevServer, launchChromium, openReadyPage, testImage } from './page-server.js';

const NO_CHROMIUM = skipUnless(HAVE_CHROMIUM, `dev-server browser tests: ${CHROMIUM_PATH} is absent (apt-get install chromium; never downloaded)`, { ciRequired: true });

const UPSCALE_TOL = 2e-3;

let tmp: string;
let dev: { url: string; modelPath: string; server: ViteDevServer };
let browser: Browser;
let page: Page;
const consoleLines: string[] = [];

describe.skipIf(NO_CHROMIUM)('@sdxs/web under the Vite dev server in headless Chromium', () => {
  beforeAll(async () => {
    const t0 = Date.now();
    await C.setBackend('cpu');
    tmp = await mkdtemp(path.join(tmpdir(), 'sdxs-web-dev-'));
    await makeTinyModel(path.join(tmp, 'model'));
    dev = await startDevServer(path.join(tmp, 'model'));
    browser = await launchChromium(tmp);
    page = await openReadyPage(browser, `${dev.url}/?model=${dev.modelPath}`, consoleLines, 120_000);
    console.log(`[web dev] tiny model + dev server + chromium + first page load ${Date.now() - t0} ms`);
  }, 180_000);

  afterAll(async () => {
    if (consoleLines.some((l) => /^pageerror|^error: (?!Failed to load resource: the server responded with a status of 404)/.test(l))) console.warn(`[web dev] browser console:\n${consoleLines.join('\n')}`);
    await browser?.close();
    await dev?.server.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  test('ort-cpu upscales in the model worker under the dev server and equals Node (cpu backend)', async () => {
    const [w, h] = [24, 16];
    const data = testImage(w, h);
    const fetchedWasm: Response[] = [];
    page.on('response', (r) => {
      const u = new URL(r.url());
      if (u.pathname.endsWith('.wasm') && !u.searchParams.has('import') && r.request().method() === 'GET' && r.status() === 200) fetchedWasm.push(r);
    });
    expect(await page.evaluate(() => (window as unknown as { sdxs: SdxsHook }).sdxs.useBackend('ort-cpu'))).toBe('ort-cpu');
    const req: HookUpscaleRequest = { modelUrl: `${dev.url}${dev.modelPath}`, width: w, height: h, channels: 3, data: Array.from(data) };
    const got: HookImage = await page.evaluate((r) => (window as unknown as { sdxs: SdxsHook }).sdxs.upscale(r), req);
    expect(got.backend).toBe('ort-cpu');
    // in the page's module worker, which the dev server serves as a module (src/worker/sdxs.worker.ts)
    expect(got.thread).toBe('worker');
    expect([got.width, got.height, got.channels]).toEqual([2 * w, 2 * h, 3]);
    const vae = await AsymmetricAutoencoderKL.fromPretrained(path.join(tmp, 'model'), { subfolder: 'vae' });
    const want = await upscale(vae, { width: w, height: h, channels: 3, data });
    vae.dispose();
    const err = maxAbsDiff(Float32Array.from(got.data), want.data as Float32Array);
    console.log(`[web dev] upscale ${w}x${h} on ort-cpu under the dev server: ${got.ms.toFixed(0)} ms, max abs error vs Node ${err.toExponential(2)}`);
    expect(err).toBeLessThan(UPSCALE_TOL);
    // what the page and its worker fetched as .wasm (onnxruntime-web's, among them) is WebAssembly, not the dev
    // server's index.html (the worker's requests reach Playwright's page events too)
    const urls = [...new Set(fetchedWasm.map((r) => r.url()))];
    // fetched again from the page: the inspector does not keep 26 MB bodies
    const wasm = await page.evaluate((list) => Promise.all(list.map(async (u) => ({ url: u, head: Array.from(new Uint8Array(await (await fetch(u)).arrayBuffer()).subarray(0, 4)) }))), urls);
    for (const f of wasm) expect(f.head, f.url).toEqual([0x00, 0x61, 0x73, 0x6d]);
  });

  test('auto on a software WebGPU adapter (SwiftShader) runs on ort-cpu, says why, and an upscale shows compiling as its own stage', async () => {
    const p = await browser.newPage();
    try {
      await p.goto(`${dev.url}/?model=${dev.modelPath}`);
      await p.waitForSelector('html[data-ready="true"]', { timeout: 60_000 });
      await p.waitForFunction(() => /software WebGPU only/.test(document.getElementById('provider')?.textContent ?? ''), undefined, { timeout: 10_000 });
      // every stage line and time-left text the progress card shows, in order
      await p.evaluate(() => {
        const seen: string[] = [];
        (window as unknown as { seen: string[] }).seen = seen;
        const record = (): void => {
          const text = (id: string): string => document.getElementById(id)?.textContent ?? '';
          const line = `${text('progress-stage')} | ${text('progress-count')} | ${text('progress-eta')}`;
          if (seen.at(-1) !== line) seen.push(line);
        };
        new MutationObserver(record).observe(document.getElementById('progress')!, { subtree: true, childList: true, characterData: true });
      });
      // the 451x300: 6 tiles of 256 px (overlap 64) to encode and 6 to decode
      const [w, h] = [451, 300];
      const png = await encodePng({ width: w, height: h, channels: 3, data: Uint8Array.from(testImage(w, h), (v) => Math.round(v * 255)) });
      await p.evaluate((bytes) => {
        const dt = new DataTransfer();
        dt.items.add(new File([new Uint8Array(bytes)], 'grid.png', { type: 'image/png' }));
        const zone = document.getElementById('drop-zone')!;
        for (const type of ['dragenter', 'dragover', 'drop']) zone.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
      }, Array.from(png));
      await p.waitForSelector('#gallery .result[data-kind="upscale"]', { timeout: 150_000 });
      expect(await p.textContent('#backend-used')).toBe('backend: ort-cpu');
      expect(await p.getAttribute('#status', 'data-state')).toBe('cpu');
      expect(await p.getAttribute('#notice', 'data-reason')).toBe('webgpu-software');
      const notice = await p.locator('#notice').innerText();
      expect(notice).toContain('Only a software WebGPU adapter here, so the page runs on ort-cpu');
      expect(notice).toMatch(/ort-webgpu: software WebGPU adapter \(.*swiftshader.*\)/i);
      expect(await p.getAttribute('#backend-used', 'title')).toContain('tfjs-webgpu: software WebGPU adapter');

      const seen = await p.evaluate(() => (window as unknown as { seen: string[] }).seen);
      const stages = seen.map((l) => l.split(' | ')[0]!);
      const compileAt = stages.findIndex((s) => s === 'Compiling the VAE encoder');
      const loadedAt = stages.lastIndexOf('Loading the VAE weights');
      expect(compileAt, seen.join('\n')).toBeGreaterThan(loadedAt);
      expect(stages).toContain('Compiling the VAE decoder');
      // never "0 ms left" after a finished count, nor during a compile
      for (const l of seen.filter((x) => /^Compiling/.test(x) || /^Loading the VAE weights \| tensors (\d+)\/\1 /.test(x))) expect(l).not.toMatch(/left/);
      // the finished line says the size and backend once; the time is in the foot only
      expect(await p.textContent('#progress-stage')).toBe('Done: 902×600 on ort-cpu');
      expect(await p.textContent('#progress-eta')).toMatch(/^took \d/);
      // an opaque result has no transparency checkerboard behind it
      const card = p.locator('#gallery .result').first();
      expect(await card.getAttribute('data-alpha')).toBe('false');
      expect(await card.locator('.result-image').evaluate((e) => getComputedStyle(e).backgroundImage)).toBe('none');
    } finally {
      await p.close();
    }
  }, 200_000);

  test("a server that answers onnxruntime-web's .wasm with HTML: the ort-* backends do not start and auto moves on", async () => {
    const p = await browser.newPage();
    try {
      // what the dev server did before: its index.html in place of the .wasm
      // (the file itself, not the dev server's JS module for its `?url` import)
      await p.route((u) => u.pathname.endsWith('/ort-wasm-simd-threaded.asyncify.wasm') && !u.searchParams.has('import'), (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><html></html>' }));
      await p.goto(`${dev.url}/?model=${dev.modelPath}`);
      await p.waitForSelector('html[data-ready="true"]', { timeout: 60_000 });
      const chosen = await p.evaluate(() => (window as unknown as { sdxs: SdxsHook }).sdxs.useBackend('auto'));
      expect(chosen).toBe('tfjs-wasm');
      const why = (await p.getAttribute('#backend-used', 'title')) ?? '';
      expect(why).toMatch(/ort-cpu: ONNX Runtime Web's wasm is not being served: .*ort-wasm-simd-threaded\.asyncify\.wasm.* starts with 3c 21 64 6f instead of 00 61 73 6d/);
      const direct = await p.evaluate(() => (window as unknown as { sdxs: SdxsHook }).sdxs.useBackend('ort-cpu').then(() => 'started', (e: Error) => e.message));
      expect(direct).toMatch(/ort-cpu: ONNX Runtime Web's wasm is not being served/);
    } finally {
      await p.close();
    }
  });

  test("the progress card's time left counts down between reports (the work runs in the worker, so the page repaints within a tile)", async () => {
    const p = await browser.newPage();
    try {
      await p.goto(`${dev.url}/?model=${dev.modelPath}`);
      await p.waitForSelector('html[data-ready="true"]', { timeout: 60_000 });
      // the page's own ProgressView (the dev server serves its modules), fed one tile report
      // (a string: vitest would rewrite a dynamic import inside a function)
      const [first, later] = await p.evaluate<[string, string]>(`(async () => {
        const { ProgressView } = await import('/src/progress.ts');
        const view = new ProgressView();
        view.start('Starting the backend');
        view.update({ stage: 'Decoding tiles', done: 3, total: 12, unit: 'tile', etaMs: 60000 });
        const eta = () => document.getElementById('progress-eta')?.textContent ?? '';
        const a = eta();
        await new Promise((r) => setTimeout(r, 2600));
        return [a, eta()];
      })()`);
      expect(first).toMatch(/^about 1 min 0 s left · /);
      const left = /^about (\d+\.\d) s left/.exec(later);
      expect(left, later).not.toBeNull();
      expect(Number(left![1])).toBeGreaterThan(56);
      expect(Number(left![1])).toBeLessThan(58.5);
      expect(await p.textContent('#progress-count')).toBe('tile 3/12');
    } finally {
      await p.close();
    }
  });
});
