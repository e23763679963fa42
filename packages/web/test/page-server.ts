/** Builds the page with Vite's JS API and serves it, with a model folder, from http://localhost (WebGPU needs a secure context). */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build, createServer, type ViteDevServer } from 'vite';
import { repoRoot, startStaticServer, type StaticServer } from '@sdxs/core/testing';
import type { HookUpscaleRequest, SdxsHook } from '../src/test-hook.js';

export const WEB_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** `vite build` of packages/web into `outDir` (the same config as `npm run build -w @sdxs/web`). */
export async function buildPage(outDir: string): Promise<void> {
  await build({
    root: WEB_ROOT,
    configFile: path.join(WEB_ROOT, 'vite.config.ts'),
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true },
  });
}

/** The built page at `/`, the model folder at `/model/`. */
export function servePage(distDir: string, modelDir: string): Promise<StaticServer> {
  return startStaticServer({ '': distDir, model: modelDir });
}

/**
 * `npm run dev -w @sdxs/web`'s server (the same config) on localhost (5173 or the next free port), allowed to serve
 * `modelDir` as `/@fs<modelDir>` besides the workspace. Close it with `close()`.
 */
export async function startDevServer(modelDir: string): Promise<{ url: string; modelPath: string; server: ViteDevServer }> {
  const server = await createServer({
    root: WEB_ROOT,
    configFile: path.join(WEB_ROOT, 'vite.config.ts'),
    logLevel: 'warn',
    server: { host: 'localhost', strictPort: false, fs: { allow: [repoRoot(), modelDir] } },
  });
  await server.listen();
  const url = (server.resolvedUrls?.local[0] ?? '').replace(/\/$/, '');
  if (!url) throw new Error('the Vite dev server did not say where it listens');
  return { url, modelPath: `/@fs${modelDir}`, server };
}

/**
 * Chromium's flags for WebGPU on SwiftShader in a headless container: WebGPU without an origin trial or a
 * GPU (--enable-unsafe-webgpu, Vulkan, the SwiftShader adapter), no sandbox (containers run as root), and
 * nothing that reaches the network on its own.
 */
export const CHROMIUM_ARGS = [
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-webgpu-adapter=swiftshader',
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const CHROMIUM_PATH = process.env.SDXS_CHROMIUM ?? '/usr/bin/chromium';
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** Whether Debian's Chromium is here (it is installed by .ci/run, never downloaded). */
export const HAVE_CHROMIUM = existsSync(CHROMIUM_PATH);

/** Headless Chromium with WebGPU on SwiftShader (unless VK_ICD_FILENAMES names another driver). */
export function launchChromium(runtimeDir: string): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    env: { ...process.env, VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES ?? SWIFTSHADER_ICD, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? runtimeDir },
  });
}

/** A new page at `url`, its console and errors collected into `lines`, once the page says it is ready. */
export async function openReadyPage(browser: Browser, url: string, lines: string[], timeout = 30_000): Promise<Page> {
  const page = await browser.newPage();
  page.on('console', (m) => lines.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => lines.push(`pageerror: ${e.message}`));
  await page.goto(url);
  await page.waitForSelector('html[data-ready="true"]', { timeout });
  return page;
}

/** A w x h RGB test image in [0, 1], interleaved: gradients and a hard edge. */
export function testImage(w = 24, h = 16): Float32Array {
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

/** What the page's main thread did while a job ran: its longest stall and how often its timers and frames ran. */
export interface StallReport {
  /** where the job ran, and the time it took there (all runs together) */
  thread: string;
  jobMs: number;
  runs: number;
  /** from the call to the result, on the page */
  wallMs: number;
  /** the longest gap between two runs of a 5 ms timer chain on the main thread */
  maxTimerGapMs: number;
  timerTicks: number;
  /** the longest gap between two animation frames */
  maxFrameGapMs: number;
  frames: number;
  /** timer gaps over 100 ms: [ms since the call, gap ms] */
  longGaps: [number, number][];
  /** main-thread tasks over 50 ms that Chromium reported (Long Tasks API): [ms since the call, duration ms] */
  longTasks: [number, number][];
}

/**
 * Runs `window.sdxs.upscale(req)` while a timer chain (setTimeout 5 ms) and a requestAnimationFrame loop watch the
 * page's main thread: a job on that thread shows as long gaps, one in a worker does not. With `minJobMs` the
 * upscale runs again, back to back, until the runs took that long together (at most `maxRuns`).
 */
export function upscaleWhileWatching(page: Page, req: HookUpscaleRequest, opts: { minJobMs?: number; maxRuns?: number } = {}): Promise<StallReport> {
  return page.evaluate(async ([r, minJobMs, maxRuns]) => {
    let running = true;
    const t0 = performance.now();
    let last = t0;
    let maxTimerGapMs = 0;
    let timerTicks = 0;
    const longGaps: [number, number][] = [];
    const tick = (): void => {
      const now = performance.now();
      if (now - last > 100) longGaps.push([Math.round(last - t0), Math.round(now - last)]);
      maxTimerGapMs = Math.max(maxTimerGapMs, now - last);
      last = now;
      timerTicks++;
      if (running) setTimeout(tick, 5);
    };
    setTimeout(tick, 5);
    let lastFrame: number | undefined;
    let maxFrameGapMs = 0;
    let frames = 0;
    const frame = (t: number): void => {
      if (lastFrame !== undefined) maxFrameGapMs = Math.max(maxFrameGapMs, t - lastFrame);
      lastFrame = t;
      frames++;
      if (running) requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
    const longTasks: [number, number][] = [];
    const observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) longTasks.push([Math.round(e.startTime - t0), Math.round(e.duration)]);
    });
    observer.observe({ type: 'longtask' });
    let jobMs = 0;
    let runs = 0;
    let thread = '';
    do {
      const out = await (window as unknown as { sdxs: SdxsHook }).sdxs.upscale(r);
      jobMs += out.ms;
      runs++;
      thread = out.thread;
    } while (jobMs < minJobMs && runs < maxRuns);
    const wallMs = performance.now() - t0;
    running = false;
    for (const e of observer.takeRecords()) longTasks.push([Math.round(e.startTime - t0), Math.round(e.duration)]);
    observer.disconnect();
    return { thread, jobMs, runs, wallMs, maxTimerGapMs, timerTicks, maxFrameGapMs, frames, longGaps, longTasks };
  }, [req, opts.minJobMs ?? 0, opts.maxRuns ?? 1] as const);
}
