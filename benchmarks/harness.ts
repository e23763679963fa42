import * as C from '../packages/core/src/index.js';
import type { Tensor } from '../packages/core/src/index.js';

/** One benchmark case: `setup` makes inputs on the active backend and returns the op to time. */
export interface BenchCase {
  name: string;
  /** floating-point operations of one run (for GFLOP/s), if meaningful */
  flops?: number;
  setup(): { run: () => Tensor; dispose: () => void };
}
export interface BenchSuite {
  name: string;
  /** cases at the model's real sizes, or tiny ones for `--quick`; a backend may get smaller ones (with a note) */
  cases(opts: { quick: boolean; backend: string }): BenchCase[];
}
export interface BenchResult {
  suite: string;
  case: string;
  backend: string;
  medianMs: number | null;
  runs: number;
  gflops: number | null;
  peakRssMiB: number;
  /** tfjs's peak bytes during one run (tf.profile), tfjs backends only */
  tfPeakMiB: number | null;
  note?: string;
}

const mib = (b: number): number => Math.round((b / 2 ** 20) * 10) / 10;

/** Wait for the result: read one element (forces a GPU queue to finish without copying the output). */
async function settle(y: Tensor): Promise<void> {
  const one = C.tidy(() => C.slice(y, y.shape.map(() => 0), y.shape.map((d) => Math.min(d, 1))));
  await one.data();
  one.dispose();
}

async function timeOnce(run: () => Tensor): Promise<number> {
  const t0 = performance.now();
  const y = run();
  await settle(y);
  const ms = performance.now() - t0;
  y.dispose();
  return ms;
}

async function tfPeak(backend: string, run: () => Tensor): Promise<number | null> {
  if (!backend.startsWith('tfjs-')) return null;
  const tf = await import('@tensorflow/tfjs-core');
  let out: Tensor | null = null;
  const info = await tf.profile(() => {
    out = run();
    return [];
  });
  if (out) (out as Tensor).dispose();
  return mib(info.peakBytes);
}

/** Warm up once, then time up to `reps` runs (fewer when one run is slow: `budgetMs` in total). */
export async function measure(suite: string, c: BenchCase, backend: string, reps: number, budgetMs: number): Promise<BenchResult> {
  const { run, dispose } = c.setup();
  let peakRss = process.memoryUsage().rss;
  try {
    const warm = await timeOnce(run);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    const n = warm * reps > budgetMs ? 1 : reps;
    const times: number[] = [];
    if (warm > budgetMs) times.push(warm);
    else for (let i = 0; i < n; i++) {
      times.push(await timeOnce(run));
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }
    times.sort((a, b) => a - b);
    const med = times[Math.floor(times.length / 2)]!;
    const tfPeakMiB = warm > budgetMs ? null : await tfPeak(backend, run);
    return {
      suite, case: c.name, backend, medianMs: Math.round(med * 10) / 10, runs: times.length,
      gflops: c.flops ? Math.round((c.flops / (med / 1000) / 1e9) * 10) / 10 : null,
      peakRssMiB: mib(Math.max(peakRss, process.memoryUsage().rss)), tfPeakMiB,
      ...(warm > budgetMs ? { note: 'slow: the warm-up run is reported' } : {}),
    };
  } finally {
    dispose();
  }
}

/** Random inputs for a case (seeded). */
export function randn(shape: number[], seed: number, std = 1): Tensor {
  return C.randomNormal(shape, { seed, std });
}
