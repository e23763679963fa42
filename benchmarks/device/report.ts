/** The device run's results: one JSON document and a Markdown table of it, rewritten after every stage. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ParityCheck } from './fixture-parity.js';

export type StageStatus = 'ok' | 'unavailable' | 'error' | 'timeout' | 'skipped';

export interface Stage {
  /** parity | unet-step | vae-decode | generate | make-model | probe */
  stage: string;
  /** ort-webgpu, ort-cuda, ort-cpu, pytorch, ... */
  backend: string;
  /** the precision asked for (float16 / float32; bf16 for PyTorch) */
  compute: string;
  /** what the backend reports it computes in, when it started */
  computeUsed?: string;
  status: StageStatus;
  reason?: string;
  capS?: number;
  wallS?: number;
  setupS?: number;
  firstS?: number;
  steadyS?: number;
  timesS?: number[];
  params?: number;
  peakRssMiB?: number | null;
  /** rise of the GPU's used memory over the baseline while it ran (nvidia-smi) */
  gpuPeakMiB?: number | null;
  /** PyTorch's own peak (torch.cuda.max_memory_allocated) */
  torchPeakAllocMiB?: number | null;
  checks?: ParityCheck[];
  detail?: Record<string, unknown>;
}

export interface Report {
  meta: Record<string, unknown>;
  stages: Stage[];
}

const n = (v: number | null | undefined, digits = 2): string => (v === null || v === undefined || Number.isNaN(v) ? '' : v.toFixed(digits));
const e = (v: number | null | undefined): string => (v === null || v === undefined || Number.isNaN(v) ? '' : v.toExponential(1));

function timingTable(stages: readonly Stage[]): string[] {
  const rows = ['| case | backend | compute (asked / used) | status | setup s | first call s | steady s | ×PyTorch | GPU MiB | RSS MiB |', '|---|---|---|---|---:|---:|---:|---:|---:|---:|'];
  for (const s of stages.filter((x) => x.stage !== 'parity')) {
    const torch = stages.find((x) => x.stage === s.stage && x.backend === 'pytorch' && x.status === 'ok');
    const ratio = s.backend !== 'pytorch' && s.status === 'ok' && torch ? ratioOf(s, torch) : '';
    const time = s.stage === 'generate' && s.backend !== 'pytorch' ? n(s.wallS, 1) : n(s.steadyS, 3);
    const gpu = s.torchPeakAllocMiB ? `${n(s.gpuPeakMiB, 0)} (alloc ${n(s.torchPeakAllocMiB, 0)})` : n(s.gpuPeakMiB, 0);
    const status = s.status === 'ok' ? 'ok' : `${s.status}: ${(s.reason ?? '').replace(/\|/g, '/').slice(0, 160)}`;
    rows.push(`| ${s.stage} | ${s.backend} | ${s.compute}${s.computeUsed && s.computeUsed !== s.compute ? ` / ${s.computeUsed}` : ''} | ${status} | ${n(s.setupS, 1)} | ${n(s.firstS, 2)} | ${time} | ${ratio} | ${gpu} | ${n(s.peakRssMiB, 0)} |`);
  }
  return rows;
}

/** Our time over PyTorch's: steady call against steady call; for `generate`, our CLI's wall time against PyTorch's first run plus build. */
function ratioOf(s: Stage, torch: Stage): string {
  if (s.stage === 'generate') {
    const ref = (torch.setupS ?? 0) + (torch.firstS ?? 0);
    return s.wallS && ref ? `${(s.wallS / ref).toFixed(2)}x` : '';
  }
  return s.steadyS && torch.steadyS ? `${(s.steadyS / torch.steadyS).toFixed(2)}x` : '';
}

function parityTable(stages: readonly Stage[]): string[] {
  const rows = ['| backend | compute | status | check | max abs err / max abs ref | vs ort-cpu float32 | pass |', '|---|---|---|---|---:|---:|---|'];
  for (const s of stages.filter((x) => x.stage === 'parity')) {
    if (!s.checks?.length) {
      rows.push(`| ${s.backend} | ${s.compute} | ${s.status}: ${(s.reason ?? '').replace(/\|/g, '/').slice(0, 200)} | | | | |`);
      continue;
    }
    for (const c of s.checks) rows.push(`| ${s.backend} | ${s.compute} | ${s.status} | ${c.name}${c.error ? ` (${c.error.replace(/\|/g, '/').slice(0, 120)})` : ''} | ${e(c.relErr)} | ${e(c.relErrVsOrtCpu)} | ${c.pass ? 'yes' : '**no**'} |`);
  }
  return rows;
}

export function markdown(r: Report): string {
  const m = r.meta;
  return [
    `# Device run (${String(m.mode)})`,
    '',
    `${String(m.gpu ?? 'no GPU')}; Node ${String(m.node)}; onnxruntime-node ${String(m.onnxruntime ?? '?')}; PyTorch ${String(m.torch ?? 'not run')}; started ${String(m.started)}, ${n(m.elapsedS as number, 0)} s of a ${String(m.budgetS)} s budget.`,
    '',
    m.mode === 'device' ? '## Timings (real configs, random 16-bit weights)' : '## Timings (dry run: tiny configs and sizes, software Vulkan)',
    '',
    '`generate` is the whole `sdxs generate` process (load, compile, encode, denoise, decode, PNG) against PyTorch building its models and running once; the other cases compare steady calls. GPU MiB: rise of nvidia-smi\'s used memory while the process ran.',
    '',
    ...timingTable(r.stages),
    '',
    '## Parity on the fixtures',
    '',
    `float32: within each case's tolerance; float16: max |error| / max |reference| ≤ 1e-2.`,
    '',
    ...parityTable(r.stages),
    '',
  ].join('\n');
}

/** Writes device-run.json and device-run.md into `dir`. */
export function writeReport(dir: string, r: Report): void {
  writeFileSync(path.join(dir, 'device-run.json'), `${JSON.stringify(r, null, 2)}\n`);
  writeFileSync(path.join(dir, 'device-run.md'), markdown(r));
}
