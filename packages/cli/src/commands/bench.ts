import * as C from '@sdxs/core';
import { DEFAULT_MODEL, SdxsPipeline, type PipelineStage } from '@sdxs/pipeline';
import { intArg, dtypeArg, type WeightDTypeArg } from '../args.js';
import { UsageError } from '../cli-error.js';
import { defineCommand, DTYPE_OPTION, flag, text } from '../define-command.js';

export interface StageTimes {
  backend: string;
  loadMs: number;
  encodeMs: number;
  denoiseMs: number;
  itPerSec: number;
  decodeMs: number;
  totalMs: number;
  peakRssMiB: number;
}

async function benchBackend(model: string, backend: string, o: { width: number; height: number; steps: number; dtype: WeightDTypeArg | undefined }, signal: AbortSignal): Promise<StageTimes> {
  await C.setBackend(backend);
  const marks = new Map<PipelineStage, { start: number; end: number }>();
  let peak = process.memoryUsage().rss;
  const t0 = performance.now();
  const pipe = await SdxsPipeline.fromPretrained(model, {
    dtype: o.dtype,
    signal,
    onProgress: (p) => {
      const now = performance.now();
      const m = marks.get(p.stage) ?? { start: now, end: now };
      m.end = now;
      marks.set(p.stage, m);
      peak = Math.max(peak, process.memoryUsage().rss);
    },
  });
  try {
    await pipe.generate({ prompt: 'a lighthouse on a cliff at dusk, detailed', width: o.width, height: o.height, steps: o.steps, seed: 0, signal });
  } finally {
    pipe.dispose();
  }
  const total = performance.now() - t0;
  const span = (s: PipelineStage): number => {
    const m = marks.get(s);
    return m ? m.end - m.start : 0;
  };
  // denoise marks are taken after each step: the first step's time is the gap from the end of encoding
  const denoise = (marks.get('denoise')?.end ?? 0) - (marks.get('encode')?.end ?? 0);
  const r = (x: number): number => Math.round(x);
  return {
    backend,
    loadMs: r(span('load') + span('download')),
    encodeMs: r(span('encode')),
    denoiseMs: r(denoise),
    itPerSec: Math.round((o.steps / (denoise / 1000)) * 100) / 100,
    decodeMs: r(span('decode')),
    totalMs: r(total),
    peakRssMiB: Math.round(peak / 2 ** 20),
  };
}

export type BenchResult = StageTimes | { backend: string; skipped: string };

/** A reason as one short line: its first line, cut at a word near `max` characters. */
export function shortReason(why: string, max = 100): string {
  const line = why.split('\n')[0]!.trim();
  if (line.length <= max) return line;
  const cut = line.slice(0, max);
  return `${cut.slice(0, Math.max(cut.lastIndexOf(' '), max / 2)).replace(/[\s,;:(]+$/, '')} …`;
}

/** The Markdown table of the results; skipped backends get a numbered note under the table, not a paragraph in a cell. */
export function benchTable(results: readonly BenchResult[]): string {
  const rows = ['| backend | load ms | encode ms | denoise ms | it/s | decode ms | total ms | peak RSS MiB |', '|---|---|---|---|---|---|---|---|'];
  const notes: string[] = [];
  for (const r of results) {
    if ('skipped' in r) {
      notes.push(`[${notes.length + 1}] ${r.backend}: ${shortReason(r.skipped)}`);
      rows.push(`| ${r.backend} | skipped [${notes.length}] | | | | | | |`);
    } else rows.push(`| ${r.backend} | ${r.loadMs} | ${r.encodeMs} | ${r.denoiseMs} | ${r.itPerSec} | ${r.decodeMs} | ${r.totalMs} | ${r.peakRssMiB} |`);
  }
  return `${rows.join('\n')}\n${notes.length ? `\n${notes.join('\n')}\n` : ''}`;
}

export const bench = defineCommand({
  name: 'bench',
  summary: 'compare backends on a real generation, stage by stage',
  usage: `sdxs bench [options]

Time a real generation per stage on each backend: model load, prompt encoding, denoising (iterations/s
with classifier-free guidance, batch 2 through the UNet), VAE decode, and peak memory. For the op-level
suite at the model's real sizes, run \`npm run bench\` in the repository.`,
  options: {
    backends: text('<a,b>', 'backends to compare (default: every one that starts here)'),
    width: text('<px>', 'image width (default 512)', 'W'),
    height: text('<px>', 'image height (default 512)', 'H'),
    steps: text('<n>', 'denoising steps (default 4)'),
    ...DTYPE_OPTION,
    model: text('<dir|repo>', `model folder or hub repo id (default ${DEFAULT_MODEL})`),
    json: flag('print the results as JSON'),
  },
  async run({ values: v, io }) {
    const dtype = dtypeArg('bench', v.dtype);
    const o = { width: intArg('bench', 'width', v.width, 512, 16, 8192), height: intArg('bench', 'height', v.height, 512, 16, 8192), steps: intArg('bench', 'steps', v.steps, 4, 1, 1000), dtype } as const;
    const names = v.backends ? v.backends.split(',').map((s) => s.trim()) : C.listBackends();
    for (const n of names) if (!C.listBackends().includes(n)) throw new UsageError(`sdxs bench: unknown backend '${n}'; choose from ${C.listBackends().join(', ')}`);
    const results: BenchResult[] = [];
    for (const b of names) {
      const why = await C.backendFailure(b);
      if (why) {
        results.push({ backend: b, skipped: why });
        if (!v.json) io.stderr.write(`skipping ${b}: ${shortReason(why)}\n`);
        continue;
      }
      if (!v.json) io.stderr.write(`benchmarking ${b} ...\n`);
      results.push(await benchBackend(v.model ?? DEFAULT_MODEL, b, o, io.signal));
    }
    if (v.json) io.stdout.write(`${JSON.stringify({ ...o, model: v.model ?? DEFAULT_MODEL, results })}\n`);
    else {
      io.stdout.write(benchTable(results));
    }
    return 0;
  },
});
