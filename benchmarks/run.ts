/**
 * Cross-backend benchmarks: `npm run bench [-- --quick] [--backends cpu,tfjs-wasm] [--suites core] [--reps 3]`.
 * Writes bench-results/<suite>.json and prints a Markdown table. `--suites compare` runs benchmarks/compare.ts
 * (compiled vs eager vs PyTorch at the real sizes, with SVG charts; `--run-pytorch` runs PyTorch in the same run).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as C from '../packages/core/src/index.js';
import { type BenchResult, measure } from './harness.js';
import { BENCH_SUITES } from './registry.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const quick = process.argv.includes('--quick');
const reps = Number(arg('reps') ?? 3);
const budgetMs = Number(arg('budget-ms') ?? 60_000);
const suites = (arg('suites') ?? Object.keys(BENCH_SUITES).join(',')).split(',');
const backends = (arg('backends') ?? 'cpu,tfjs-cpu,tfjs-wasm,tfjs-webgpu').split(',');

// no GPU here: Dawn may use Chromium's SwiftShader (see shared/TESTING.md)
const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (process.env.VK_ICD_FILENAMES === undefined && existsSync(SWIFTSHADER)) process.env.VK_ICD_FILENAMES = SWIFTSHADER;
process.env.XDG_RUNTIME_DIR ??= '/tmp';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.join(root, 'bench-results');
mkdirSync(outDir, { recursive: true });

const fmt = (v: number | null | undefined): string => (v === null || v === undefined ? '-' : String(v));

for (const s of suites) {
  if (s === 'compare') {
    // compiled vs eager vs PyTorch at the real sizes, each case in its own process (benchmarks/compare.ts)
    const { spawnSync } = await import('node:child_process');
    const passOn = ['backends', 'runs', 'cases', 'threads'].flatMap((k) => (arg(k) ? [`--${k}`, arg(k)!] : []));
    const r = spawnSync(process.execPath, [...process.execArgv, path.join(root, 'benchmarks/compare.ts'), ...passOn, ...(process.argv.includes('--run-pytorch') ? ['--run-pytorch'] : [])], { stdio: 'inherit' });
    if (r.status !== 0) process.exitCode = r.status ?? 1;
    continue;
  }
  const load = BENCH_SUITES[s];
  if (!load) throw new Error(`unknown suite '${s}'; known: ${Object.keys(BENCH_SUITES).join(', ')}`);
  const { suite } = await load();
  const results: BenchResult[] = [];
  const skipped: Record<string, string> = {};
  for (const b of backends) {
    const why = await C.backendFailure(b);
    if (why) {
      skipped[b] = why.split('\n')[0]!;
      console.error(`[bench] ${b}: unavailable (${skipped[b]})`);
      continue;
    }
    await C.setBackend(b);
    for (const c of suite.cases({ quick, backend: b })) {
      console.error(`[bench] ${suite.name} / ${b} / ${c.name} ...`);
      const r = await measure(suite.name, c, b, reps, budgetMs);
      console.error(`[bench]   ${fmt(r.medianMs)} ms${r.gflops ? `, ${r.gflops} GFLOP/s` : ''}`);
      results.push(r);
    }
  }
  const meta = { date: new Date().toISOString(), quick, reps, node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? '', skipped };
  // results of backends not run this time are kept, so backends can be measured one at a time
  const file = path.join(outDir, `${suite.name}${quick ? '.quick' : ''}.json`);
  const previous = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { results?: BenchResult[] }).results ?? [] : [];
  const merged = [...previous.filter((r) => !backends.includes(r.backend)), ...results];
  writeFileSync(file, JSON.stringify({ ...meta, results: merged }, null, 2));
  console.log(`\n### ${suite.name}${quick ? ' (quick)' : ''}: median of ${reps} runs after one warm-up\n`);
  console.log('| case | backend | ms | GFLOP/s | peak RSS MiB | tf peak MiB | note |');
  console.log('|---|---|---:|---:|---:|---:|---|');
  for (const r of merged) console.log(`| ${r.case} | ${r.backend} | ${fmt(r.medianMs)} | ${fmt(r.gflops)} | ${r.peakRssMiB} | ${fmt(r.tfPeakMiB)} | ${r.note ?? ''} |`);
  for (const [b, why] of Object.entries(skipped)) console.log(`| (all) | ${b} | - | - | - | - | unavailable: ${why} |`);
}
process.exit(0);
