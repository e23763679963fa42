/**
 * The page in headless Chromium (playwright-core driving Debian's /usr/bin/chromium, WebGPU on SwiftShader):
 * upscaling and text to image through `window.sdxs` compared with the same code in Node on the cpu backend,
 * plus a UI smoke check. Sizes are tiny: SwiftShader is ~50x slower than wasm.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as C from '@sdxs/core';
import { SdxsPipeline, encodePng } from '@sdxs/pipeline';
import { AsymmetricAutoencoderKL, upscale } from '@sdxs/vae';
import type { StaticServer } from '../../core/test-utils/index.js';
import { maxAbsDiff } from '../../core/test-utils/index.js';
import { makeTinyModel } from '../../../tools/make-tiny-model.js';
import type { HookGenerateRequest, HookImage, HookUpscaleRequest, SdxsHook } from '../src/test-hook.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH, SWIFTSHADER_ICD, buildPage, servePage } from './page-server.js';

const HAVE_CHROMIUM = existsSync(CHROMIUM_PATH);
if (!HAVE_CHROMIUM) console.warn(`browser tests skipped: ${CHROMIUM_PATH} is absent (apt-get install chromium; never downloaded)`);

/** Max abs error on [0, 1] pixels, browser (WebGPU, float32 weights) vs Node (cpu backend). */
const UPSCALE_TOL = 2e-3;
const GENERATE_TOL = 5e-3;

/** A 24x16 RGB test image in [0, 1]: gradients plus a hard edge, interleaved. */
function testImage(w = 24, h = 16): Float32Array {
  const d = new Float32Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3;
      d[o] = x / (w - 1);
      d[o + 1] = y / (h - 1);
      d[o + 2] = x > w / 2 !== y > h / 2 ? 0.9 : 0.1;
    }
  }
  return d;
}

let tmp: string;
let server: StaticServer;
let browser: Browser;
let page: Page;
const consoleLines: string[] = [];

function callHook<K extends 'upscale' | 'generate'>(name: K, req: K extends 'upscale' ? HookUpscaleRequest : HookGenerateRequest): Promise<HookImage> {
  return page.evaluate(([n, r]) => (window as unknown as { sdxs: SdxsHook }).sdxs[n as 'upscale'](r as HookUpscaleRequest), [name, req] as const);
}

describe.skipIf(!HAVE_CHROMIUM)('@sdxs/web in headless Chromium (WebGPU on SwiftShader)', () => {
  beforeAll(async () => {
    const t0 = Date.now();
    await C.setBackend('cpu');
    tmp = await mkdtemp(path.join(tmpdir(), 'sdxs-web-'));
    await makeTinyModel(path.join(tmp, 'model'));
    await buildPage(path.join(tmp, 'dist'));
    const built = Date.now();
    server = await servePage(path.join(tmp, 'dist'), path.join(tmp, 'model'));
    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS,
      env: { ...process.env, VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES ?? SWIFTSHADER_ICD, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? tmp },
    });
    page = await browser.newPage();
    page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
    await page.goto(`${server.url}/?model=/model`);
    await page.waitForSelector('html[data-ready="true"]');
    console.log(`[web] tiny model + vite build ${built - t0} ms, server + chromium + page ${Date.now() - built} ms`);
  }, 120_000);

  afterAll(async () => {
    // 404s are expected: favicon.ico and the tokenizer's optional chat_template.jinja
    if (consoleLines.some((l) => /^pageerror|^error: (?!Failed to load resource: the server responded with a status of 404)/.test(l))) console.warn(`[web] browser console:\n${consoleLines.join('\n')}`);
    await browser?.close();
    await server?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  test('the page is a secure context with WebGPU; the tabs render', async () => {
    expect(await page.evaluate(() => window.isSecureContext && 'gpu' in navigator)).toBe(true);
    await expect(page.getByRole('tab', { name: 'Upscale 2x' }).isVisible()).resolves.toBe(true);
    await page.getByRole('tab', { name: 'Text to image' }).click();
    expect(await page.locator('#panel-generate').isVisible()).toBe(true);
    expect(await page.locator('#panel-upscale').isVisible()).toBe(false);
    expect(await page.inputValue('#model-url')).toBe(`${server.url}/model`);
    await page.getByRole('tab', { name: 'Upscale 2x' }).click();
  });

  test('upscale on WebGPU equals Node (cpu backend) within 2e-3 and is exactly 2W x 2H', async () => {
    const [w, h] = [24, 16];
    const data = testImage(w, h);
    expect(await page.evaluate(() => (window as unknown as { sdxs: SdxsHook }).sdxs.useBackend('tfjs-webgpu'))).toBe('tfjs-webgpu');
    const got = await callHook('upscale', { modelUrl: `${server.url}/model`, width: w, height: h, channels: 3, data: Array.from(data) });
    expect(got.backend).toBe('tfjs-webgpu');
    expect([got.width, got.height, got.channels]).toEqual([2 * w, 2 * h, 3]);
    expect(got.progress.some((p) => p.startsWith('load vae'))).toBe(true);
    expect(got.progress.some((p) => p.startsWith('decode'))).toBe(true);

    const vae = await AsymmetricAutoencoderKL.fromPretrained(path.join(tmp, 'model'), { subfolder: 'vae' });
    const want = await upscale(vae, { width: w, height: h, channels: 3, data });
    vae.dispose();
    const err = maxAbsDiff(Float32Array.from(got.data), want.data as Float32Array);
    console.log(`[web] upscale ${w}x${h} on ${got.backend}: ${got.ms.toFixed(0)} ms in the page, max abs error vs Node ${err.toExponential(2)} (tolerance ${UPSCALE_TOL})`);
    expect(err).toBeLessThan(UPSCALE_TOL);
  });

  test('text to image with the tiny model on WebGPU equals Node for the same seed', async () => {
    const req: HookGenerateRequest = { modelUrl: `${server.url}/model`, prompt: 'a red fox in the snow', negativePrompt: 'blurry', width: 32, height: 32, steps: 2, guidanceScale: 3, seed: 7 };
    const got = await callHook('generate', req);
    expect(got.backend).toBe('tfjs-webgpu');
    expect([got.width, got.height]).toEqual([32, 32]);
    for (const stage of ['load', 'encode', 'denoise', 'decode']) expect(got.progress.some((p) => p.startsWith(stage))).toBe(true);

    const pipe = await SdxsPipeline.fromPretrained(path.join(tmp, 'model'));
    const { images } = await pipe.generate({ ...req, negativePrompt: req.negativePrompt });
    pipe.dispose();
    const err = maxAbsDiff(Float32Array.from(got.data), images[0]!.planar);
    console.log(`[web] generate 32x32, 2 steps on ${got.backend}: ${got.ms.toFixed(0)} ms in the page, max abs error vs Node ${err.toExponential(2)} (tolerance ${GENERATE_TOL})`);
    expect(err).toBeLessThan(GENERATE_TOL);
  });

  test('compiled ONNX Runtime Web on WebGPU (16-bit weights): upscale and text to image equal Node', async () => {
    expect(await page.evaluate(() => (window as unknown as { sdxs: SdxsHook }).sdxs.useBackend('ort-webgpu'))).toBe('ort-webgpu');
    const [w, h] = [24, 16];
    const data = testImage(w, h);
    const up = await callHook('upscale', { modelUrl: `${server.url}/model`, dtype: 'float16', width: w, height: h, channels: 3, data: Array.from(data) });
    expect(up.backend).toBe('ort-webgpu');
    expect([up.width, up.height, up.channels]).toEqual([2 * w, 2 * h, 3]);
    const vae = await AsymmetricAutoencoderKL.fromPretrained(path.join(tmp, 'model'), { subfolder: 'vae', dtype: 'float16' });
    const want = await upscale(vae, { width: w, height: h, channels: 3, data });
    vae.dispose();
    const upErr = maxAbsDiff(Float32Array.from(up.data), want.data as Float32Array);
    console.log(`[web] upscale ${w}x${h} on ort-webgpu (float16 weights): ${up.ms.toFixed(0)} ms, max abs error vs Node ${upErr.toExponential(2)}`);
    expect(upErr).toBeLessThan(UPSCALE_TOL);

    const req: HookGenerateRequest = { modelUrl: `${server.url}/model`, dtype: 'float16', prompt: 'a red fox in the snow', negativePrompt: 'blurry', width: 32, height: 32, steps: 2, guidanceScale: 3, seed: 7 };
    const got = await callHook('generate', req);
    expect(got.backend).toBe('ort-webgpu');
    const pipe = await SdxsPipeline.fromPretrained(path.join(tmp, 'model'), { dtype: 'float16' });
    const { images } = await pipe.generate({ ...req, negativePrompt: req.negativePrompt });
    pipe.dispose();
    const err = maxAbsDiff(Float32Array.from(got.data), images[0]!.planar);
    console.log(`[web] generate 32x32, 2 steps on ort-webgpu (float16 weights): ${got.ms.toFixed(0)} ms, max abs error vs Node ${err.toExponential(2)}`);
    expect(err).toBeLessThan(GENERATE_TOL);
    expect(await page.evaluate(() => (window as unknown as { sdxs: SdxsHook }).sdxs.useBackend('tfjs-webgpu'))).toBe('tfjs-webgpu');
  });

  test('UI: picking a file with setInputFiles upscales it and offers a 2x PNG download', async () => {
    const [w, h] = [24, 16];
    const rgb = Uint8Array.from(testImage(w, h), (v) => Math.round(v * 255));
    const png = await encodePng({ width: w, height: h, channels: 3, data: rgb });
    await page.setInputFiles('#upscale-file', { name: 'tiny.png', mimeType: 'image/png', buffer: Buffer.from(png) });
    await page.waitForSelector('#upscale-download:not([hidden])', { timeout: 60_000 });
    expect(await page.textContent('#upscale-info')).toContain('24×16, RGB');
    expect(await page.textContent('#upscale-download')).toContain('48×32');
    expect(await page.getAttribute('#upscale-download', 'download')).toBe('tiny-2x.png');
    expect(await page.locator('#upscale-output').evaluate((img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight])).toEqual([48, 32]);
    // 'auto' in the page: compiled ONNX Runtime Web on WebGPU first
    expect(await page.textContent('#backend-used')).toMatch(/backend: ort-webgpu/);
    expect(await page.textContent('#log')).toBe('');
  });
});
