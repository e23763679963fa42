/**
 * The device run's Node program, bundled by pack.sh into the carry folder (app/bench.mjs, started through
 * app/bench-main.mjs) and run by run.sh with the carried Node:
 *   bench-main.mjs drive --mode device|dry-run --out DIR --work DIR --app DIR --budget S [--python python3] [--only a,b]
 *   bench-main.mjs worker '<task json>'       (one measurement; the driver starts these)
 *   bench-main.mjs fixture-files              (the fixture files the run reads, one a line: what pack.sh copies)
 */
import { parseArgs } from 'node:util';
import { drive } from './drive.js';
import type { Mode } from './plan.js';
import type { Report } from './report.js';
import { PARITY_FILES } from './fixture-parity.js';
import { MODEL_FIXTURE_FILES, runTask, type Task } from './tasks.js';

const USAGE = 'usage: bench-main.mjs drive --mode device|dry-run --out DIR --work DIR --app DIR --budget S [--python P] [--only a,b] | worker <task json> | fixture-files';

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'worker') {
    const result = await runTask(JSON.parse(rest[0] ?? '{}') as Task);
    process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
    return 0;
  }
  if (command === 'fixture-files') {
    process.stdout.write(`${[...PARITY_FILES, ...MODEL_FIXTURE_FILES].join('\n')}\n`);
    return 0;
  }
  if (command !== 'drive') {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const { values: v } = parseArgs({
    args: [...rest],
    options: { mode: { type: 'string' }, out: { type: 'string' }, work: { type: 'string' }, app: { type: 'string' }, budget: { type: 'string' }, python: { type: 'string' }, only: { type: 'string' } },
  });
  const mode = v.mode as Mode | undefined;
  const budgetS = Number(v.budget);
  if ((mode !== 'device' && mode !== 'dry-run') || !v.out || !v.work || !v.app || !(budgetS > 0)) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const report = await drive({ mode, out: v.out, work: v.work, app: v.app, budgetS, python: v.python ?? 'python3', only: v.only ? v.only.split(',').filter(Boolean) : [] });
  return exitCode(report);
}

/**
 * Device: 0 once ort-cpu's parity ran (the report says the rest). Dry run: 0 only if nothing failed, ran over its
 * cap or was squeezed out by the budget, and every parity check passed (what does not start here, like ort-cuda or
 * float16 on SwiftShader, or PyTorch without torch, is recorded and allowed).
 */
export function exitCode(report: Report): number {
  const stages = report.stages;
  if (report.meta.mode === 'device') return stages.some((s) => s.stage === 'parity' && s.backend === 'ort-cpu' && s.status === 'ok') ? 0 : 1;
  const bad = stages.filter(
    (s) => s.status === 'error' || s.status === 'timeout' || (s.status === 'skipped' && /^time budget/.test(s.reason ?? '')) || (s.checks ?? []).some((c) => !c.pass),
  );
  for (const s of bad) process.stderr.write(`[device-run] dry run: ${s.stage} ${s.backend} ${s.compute}: ${s.status}${s.reason ? ` (${s.reason})` : ''}\n`);
  return bad.length ? 1 : 0;
}
