/**
 * Where ort-cpu's time goes in one benchmark case (compare.ts's cases: real configs, seeded random 16-bit
 * weights): the case runs `--runs` times after its first call on ort-cpu at `--compute float32|int8`, with ONNX
 * Runtime's profiler on in every session; the last run of each session is summed per op type and its slowest
 * nodes are listed (with their output shapes), so that a change to the lowering is judged by what it moves.
 * `--save dir` keeps the raw profiles.
 *
 *   node --conditions=sdxs-source --import tsx benchmarks/ort-profile.ts --case unet-step-64 [--compute int8]
 *        [--runs 1] [--top 30] [--save dir] [--new-size] [--lower '{"attentionKvLayout":"bsd"}']
 * `--new-size` (UNet cases) runs the model once at a 24² latent first, so that the first call timed is one at a new
 * size of a model already compiled once (what a user changing the image size waits for).
 * (threads: SDXS_ORT_THREADS, 2 on the benchmark machine)
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import * as C from '../packages/core/src/index.js';
import { createOrtBackend } from '../packages/core/src/backends/ort/index.js';
import type { OrtRunnerOptions } from '../packages/core/src/backends/ort/runner.js';
import { onCompile } from '../packages/core/src/backends/ort/events.js';
import { nodeRuntime, type OrtRuntime, type SessionSource } from '../packages/core/src/backends/ort/runtime.js';
import { CASES, setupCase, type CaseName } from './cases.js';
import { profileTables, type OrtProfileEvent } from './profile-table.js';

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
};
const name = arg('case', 'unet-step') as CaseName;
if (!(name in CASES)) throw new Error(`--case: one of ${Object.keys(CASES).join(', ')}`);
const compute = arg('compute', 'float32') as C.ComputePrecision;
const runs = Number(arg('runs', '1'));
const top = Number(arg('top', '30'));
const save = arg('save', '');


const dir = save || join(os.tmpdir(), `ort-profile-${process.pid}`);
mkdirSync(dir, { recursive: true });
const profiled = await nodeRuntime('cpu', { profileFilePrefix: join(dir, 'session') });
// the first call's time split: recording + lowering (ours) and ONNX Runtime's session creation
const firstCall = { compileMs: 0, createMs: 0, modelMiB: 0 };
const rt: OrtRuntime = {
  ...profiled,
  create: async (src: SessionSource) => {
    const t = performance.now();
    const s = await profiled.create(src);
    firstCall.createMs += performance.now() - t;
    firstCall.modelMiB += (src.bytes.length + src.externalData.reduce((a, f) => a + f.data.length, 0)) / 2 ** 20;
    return s;
  },
};
onCompile((e) => {
  if (e.phase === 'end') firstCall.compileMs += e.ms;
});
// --lower '{"attentionKvLayout":"bsd"}' overrides ort-cpu's lowering choices (to compare them)
const overrides = JSON.parse(arg('lower', '{}')) as OrtRunnerOptions;
C.registerBackend('ort-cpu-profiled', async () => createOrtBackend('ort-cpu-profiled', rt, false, compute, overrides) as unknown as C.Backend, -1);
await C.setBackend('ort-cpu-profiled');

const { run, otherSize, dispose } = await setupCase(name);
let otherSizeFirstMs: number | undefined;
if (process.argv.includes('--new-size')) {
  if (!otherSize) throw new Error(`--new-size: case ${name} has no other size`);
  const t0 = performance.now();
  const y = otherSize();
  await y.data();
  y.dispose();
  otherSizeFirstMs = Math.round(performance.now() - t0);
  Object.assign(firstCall, { compileMs: 0, createMs: 0, modelMiB: 0 });
}
const wall: number[] = [];
for (let i = 0; i <= runs; i++) {
  const t0 = performance.now();
  const y = run();
  await y.data();
  y.dispose();
  wall.push(performance.now() - t0);
}
dispose(); // releases the sessions: each writes its profile (endProfiling is synchronous)
console.log(JSON.stringify({ case: name, compute, ...(otherSizeFirstMs === undefined ? {} : { otherSizeFirstMs }), threads: process.env.SDXS_ORT_THREADS ?? 'default', firstMs: Math.round(wall[0]!), compileMs: Math.round(firstCall.compileMs), sessionCreateMs: Math.round(firstCall.createMs), modelMiB: Math.round(firstCall.modelMiB), runsMs: wall.slice(1).map(Math.round), loadavg: os.loadavg()[0] }));

const perRun: OrtProfileEvent[] = [];
let modelRunUs = 0;
for (const f of readdirSync(dir).filter((f) => f.startsWith('session') && f.endsWith('.json'))) {
  const events = JSON.parse(readFileSync(join(dir, f), 'utf8')) as OrtProfileEvent[];
  const modelRuns = events.filter((e) => e.cat === 'Session' && e.name === 'model_run');
  const last = modelRuns.pop();
  // with --new-size, the other size's sessions ran once: the case's ran `runs` + 1 times
  if (!last || (otherSizeFirstMs !== undefined && runs > 0 && modelRuns.length === 0)) continue;
  modelRunUs += last.dur;
  perRun.push(...events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time') && e.ts >= last.ts));
}
console.log(profileTables(perRun, modelRunUs, top));
if (!save) rmSync(dir, { recursive: true, force: true });
process.exit(0);
