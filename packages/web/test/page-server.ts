/** Builds the page with Vite's JS API and serves it, with a model folder, from http://localhost (WebGPU needs a secure context). */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { startStaticServer, type StaticServer } from '../../core/test-utils/index.js';

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

/** Chromium's flags for WebGPU on SwiftShader in a headless container (see ../shared/TESTING.md). */
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
