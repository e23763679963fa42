/** Builds the page with Vite's JS API and serves it, with a model folder, from http://localhost (WebGPU needs a secure context). */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, createServer, type ViteDevServer } from 'vite';
import { repoRoot, startStaticServer, type StaticServer } from '../../core/test-utils/index.js';

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
