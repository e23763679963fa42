/**
 * Compiled vs eager vs PyTorch, side by side in one run on this machine, at the real configs with seeded
 * random weights (16-bit storage, as the released checkpoints):
 *   vae-decode   VAE decode of a [1, 32, 32, 32] latent → 512² image
 *   unet-step    one UNet forward, [2, 32, 32, 32] latent, 249 text tokens with a mask
 *   unet-step-64 the same at a [2, 32, 64, 64] latent (a 1024² image)
 *   qwen-encode  Qwen3.5-2B text tower, hidden_states[-2] of a 248-token prompt
 * Backends are names or `name:compute` (ort-cpu:int8, ort-cpu:float16). Each case runs in a fresh process per
 * backend (so peak RSS is its own). Compiled backends report the
 * first call (compile + run) and the median of the timed runs after it; PyTorch's numbers come from
 * benchmarks/pytorch (run inside its chroot; see its README) and are read from bench-results/pytorch.json.
 * Results: bench-results/compare.{json,md} and one SVG chart per case.
 *
 *   node --conditions=sdxs-source --import tsx benchmarks/compare.ts [--cases vae-decode,unet-step,qwen-encode]
 *        [--backends ort-cpu,tfjs-wasm] [--runs 3] [--pytorch bench-results/pytorch.json] [--threads 2] [--run-pytorch]
 *   ... benchmarks/compare.ts --from a/compare.json,b/compare.json --out dir   (report only, from earlier runs)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { barChartSvg } from './chart.js';
import type { ComputePrecision } from '../packages/core/src/index.js';
import { CASES, setupCase, type CaseName } from './cases.js';

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
};


interface WorkerResult {
  case: CaseName;
  backend: string;
  /** first call: includes compiling on the graph backends */
  firstMs: number;
  /** median of the timed calls after the first (null when only one call ran) */
  medianMs: number | null;
  runs: number;
  setupMs: number;
  /** process CPU time (all threads) of a steady call: less sensitive to a busy machine than wall time */
  cpuMs?: number;
  peakRssMiB: number | null;
  /** 1-minute load average at the end */
  loadavg?: number;
  error?: string;
}

function peakRssMiB(): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : null;
  } catch {
    return null;
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** One case on one backend, in this process. */
async function worker(name: CaseName, backend: string, runs: number): Promise<WorkerResult> {
  const C = await import('../packages/core/src/index.js');
  const [backendName, compute] = backend.split(':') as [string, ComputePrecision | undefined];
  await C.setBackend(backendName, compute ? { compute } : undefined);
  const t0 = performance.now();
  const { run, dispose } = await setupCase(name);
  const setupMs = performance.now() - t0;
  const cpu: number[] = [];
  const time = async (): Promise<number> => {
    const s = performance.now();
    const c = process.cpuUsage();
    const y = run();
    await y.data();
    y.dispose();
    const u = process.cpuUsage(c);
    cpu.push((u.user + u.system) / 1000);
    return performance.now() - s;
  };
  const firstMs = await time();
  const timed: number[] = [];
  // eager backends at these sizes take minutes per call: their first call is their time
  const more = C.isGraphBackend() ? runs : Math.max(0, runs - 1);
  for (let i = 0; i < more; i++) timed.push(await time());
  dispose();
  const steadyCpu = timed.length ? median(cpu.slice(1)) : cpu[0]!;
  return { case: name, backend, firstMs, medianMs: timed.length ? median(timed) : null, cpuMs: steadyCpu, runs: timed.length + 1, setupMs, peakRssMiB: peakRssMiB(), loadavg: os.loadavg()[0]! };
}

interface PytorchCase {
  case: string;
  dtype: string;
  medianMs: number;
  cpuMs?: number;
  peakRssMiB?: number;
}

/** PyTorch's results (benchmarks/pytorch/run.sh writes them). */
function readPytorch(path: string): PytorchCase[] {
  if (!existsSync(path)) return [];
  const j = JSON.parse(readFileSync(path, 'utf8')) as { results?: { case: string; dtype: string; median_s?: number; median_cpu_s?: number; peak_rss_calls_mb?: number }[] };
  return (j.results ?? [])
    .filter((r) => typeof r.median_s === 'number')
    .map((r) => ({ case: r.case, dtype: r.dtype, medianMs: r.median_s! * 1000, cpuMs: r.median_cpu_s === undefined ? undefined : r.median_cpu_s * 1000, peakRssMiB: r.peak_rss_calls_mb }));
}

async function main(): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  const w = process.argv.indexOf('--worker');
  if (w >= 0) {
    const [name, backend, runs] = process.argv.slice(w + 1, w + 4) as [CaseName, string, string];
    try {
      console.log(JSON.stringify(await worker(name, backend, Number(runs))));
    } catch (e) {
      console.log(JSON.stringify({ case: name, backend, error: (e as Error).message.split('\n')[0] }));
    }
    process.exit(0);
  }
  const from = arg('from', '');
  if (from) {
    // report only: merge the worker results of earlier runs (their compare.json files)
    const out = arg('out', 'bench-results');
    const results = from.split(',').flatMap((f) => (JSON.parse(readFileSync(f, 'utf8')) as { results: WorkerResult[] }).results);
    const cases = (Object.keys(CASES) as CaseName[]).filter((c) => results.some((r) => r.case === c));
    mkdirSync(out, { recursive: true });
    report(cases, results, readPytorch(arg('pytorch', join(out, 'pytorch.json'))), out, arg('threads', '2'));
    return;
  }
  const cases = arg('cases', Object.keys(CASES).join(',')).split(',') as CaseName[];
  const backends = arg('backends', 'ort-cpu,tfjs-wasm').split(',');
  const runs = Number(arg('runs', '3'));
  const threads = arg('threads', '2');
  const out = arg('out', 'bench-results');
  mkdirSync(out, { recursive: true });
  // ratios are results only from a quiet machine: the 1-minute load before anything starts goes into the report
  loadBefore = os.loadavg()[0]!;
  if (loadBefore >= 0.5) console.error(`[compare] warning: 1-minute load ${loadBefore.toFixed(2)} before the run (≥ 0.5): the machine is not quiet`);
  if (process.argv.includes('--run-pytorch')) {
    // PyTorch in the same run, just before ours (benchmarks/pytorch: a Debian 13 chroot; needs root)
    const script = join(fileURLToPath(new URL('.', import.meta.url)), 'pytorch/run.sh');
    const ptCases = cases.map((c) => CASES[c].pytorch).join(',');
    console.error(`[compare] PyTorch: ${script} --cases ${ptCases} --dtypes fp32,bf16 --runs ${runs} --threads ${threads}`);
    const r = spawnSync(script, ['--cases', ptCases, '--dtypes', 'fp32,bf16', '--runs', String(runs), '--threads', threads], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, SDXS_BENCH_OUT: join(out, 'pytorch.json') },
    });
    if (r.status !== 0) console.error(`[compare] PyTorch run failed (exit ${r.status}); its previous results, if any, are used`);
  }
  const pytorch = readPytorch(arg('pytorch', join(out, 'pytorch.json')));
  const results: WorkerResult[] = [];
  for (const c of cases) {
    for (const b of backends) {
      console.error(`[compare] ${c} on ${b} ...`);
      const r = spawnSync(process.execPath, [...process.execArgv, self, '--worker', c, b, String(runs)], {
        encoding: 'utf8',
        env: { ...process.env, SDXS_ORT_THREADS: threads },
        maxBuffer: 1 << 24,
      });
      const line = r.stdout.trim().split('\n').pop() ?? '';
      let res: WorkerResult;
      try {
        res = JSON.parse(line) as WorkerResult;
      } catch {
        res = { case: c, backend: b, firstMs: NaN, medianMs: null, runs: 0, setupMs: NaN, peakRssMiB: null, error: (r.stderr || line).trim().split('\n').slice(-1)[0] };
      }
      console.error(`[compare]   ${JSON.stringify(res)}`);
      results.push(res);
    }
  }
  report(cases, results, pytorch, out, threads);
}

/** The Markdown table, JSON and one SVG chart per case, from worker results and PyTorch's. */
/** The 1-minute load average when the run began (null for a report merged from earlier runs). */
let loadBefore: number | null = null;

/**
 * The CPU as /proc/cpuinfo names it, with its family and model numbers: VMs of one name differ by generation
 * (an 'AMD EPYC' of family 25 is Zen 3/4, 26 Zen 5), and bf16 and int8 speeds with them.
 */
function cpuName(): string {
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const field = (k: string): string | undefined => new RegExp(`^${k}\\s*:\\s*(.*)$`, 'm').exec(info)?.[1]?.trim();
    return `${field('model name') ?? os.cpus()[0]?.model ?? 'unknown CPU'} (family ${field('cpu family') ?? '?'}, model ${field('model') ?? '?'})`;
  } catch {
    return os.cpus()[0]?.model ?? 'unknown CPU';
  }
}

function report(cases: readonly CaseName[], results: readonly WorkerResult[], pytorch: readonly PytorchCase[], out: string, threads: string): void {
  const rows: string[] = ['| case | backend | first call (compile + run) s | steady s | ×PyTorch fp32 | ×PyTorch bf16 | CPU s (all threads) | ×PyTorch fp32 CPU | peak RSS GiB |', '|---|---|---:|---:|---:|---:|---:|---:|---:|'];
  const json: unknown[] = [];
  for (const c of cases) {
    const ptFp32 = pytorch.find((p) => p.case === CASES[c].pytorch && p.dtype === 'fp32');
    const ptBf16 = pytorch.find((p) => p.case === CASES[c].pytorch && p.dtype === 'bf16');
    const bars: { label: string; value: number }[] = [];
    for (const r of results.filter((x) => x.case === c)) {
      const steady = r.medianMs ?? r.firstMs;
      const ratio = (p?: PytorchCase): string => (p && Number.isFinite(steady) ? `${(steady / p.medianMs).toFixed(2)}x` : '–');
      const cpuRatio = ptFp32?.cpuMs && r.cpuMs ? `${(r.cpuMs / ptFp32.cpuMs).toFixed(2)}x` : '–';
      rows.push(
        r.error
          ? `| ${CASES[c].title} | ${r.backend} | failed: ${r.error} | | | | | | |`
          : `| ${CASES[c].title} | ${r.backend} | ${(r.firstMs / 1000).toFixed(1)} | ${(steady / 1000).toFixed(2)} | ${ratio(ptFp32)} | ${ratio(ptBf16)} | ${r.cpuMs ? (r.cpuMs / 1000).toFixed(1) : '–'} | ${cpuRatio} | ${r.peakRssMiB ? (r.peakRssMiB / 1024).toFixed(1) : '–'} |`,
      );
      if (!r.error) bars.push({ label: r.backend, value: steady / 1000 });
      json.push({ ...r, steadyMs: steady, pytorchFp32Ms: ptFp32?.medianMs ?? null, pytorchBf16Ms: ptBf16?.medianMs ?? null });
    }
    for (const p of [ptFp32, ptBf16]) if (p) rows.push(`| ${CASES[c].title} | PyTorch ${p.dtype} (2 threads) | | ${(p.medianMs / 1000).toFixed(2)} | ${p.dtype === 'fp32' ? '1.00x' : '–'} | ${p.dtype === 'bf16' ? '1.00x' : '–'} | ${p.cpuMs ? (p.cpuMs / 1000).toFixed(1) : '–'} | ${p.dtype === 'fp32' ? '1.00x' : '–'} | ${p.peakRssMiB ? (p.peakRssMiB / 1024).toFixed(1) : '–'} |`);
    const refs = [ptFp32, ptBf16].filter((p): p is PytorchCase => !!p).map((p) => ({ label: `PyTorch ${p.dtype}`, value: p.medianMs / 1000 }));
    writeFileSync(join(out, `compare-${c}.svg`), barChartSvg(CASES[c].title, 'seconds (lower is better)', bars, refs));
  }
  const load = loadBefore === null ? '' : `, 1-minute load ${loadBefore.toFixed(2)} before the run${loadBefore >= 0.5 ? ' (NOT quiet)' : ''}`;
  const cpu = cpuName();
  const md = `# Compiled vs eager vs PyTorch (${new Date().toISOString().slice(0, 10)}, ${cpu}, ${threads} threads${load})\n\n${rows.join('\n')}\n`;
  writeFileSync(join(out, 'compare.md'), md);
  writeFileSync(join(out, 'compare.json'), JSON.stringify({ date: new Date().toISOString(), cpu, threads: Number(threads), loadBefore, results: json, pytorch }, null, 2));
  console.log(md);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
