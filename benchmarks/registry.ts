import type { BenchSuite } from './harness.js';

/** Benchmark files: each package adds `benchmarks/<name>.bench.ts` exporting `suite` and registers it here. */
export const BENCH_SUITES: Readonly<Record<string, () => Promise<{ suite: BenchSuite }>>> = {
  core: () => import('./core.bench.js'),
  unet: () => import('./unet.bench.js'),
  vae: () => import('./vae.bench.js'),
  'text-qwen': () => import('./text-qwen.bench.js'),
};
