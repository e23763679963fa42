/**
 * Where ort-cpu's time goes in the VAE decode (real config, seeded random 16-bit weights, float32 compute):
 * the decode graph is recorded and lowered as ort-cpu does it, run `--runs` times through the backend
 * (wall and CPU time), then once more in a session of its own with ONNX Runtime's profiler on, and the
 * profile is summed per op type (and the slowest nodes listed). `--save dir` keeps the lowered model, the
 * model ONNX Runtime optimised it to (to see which Convs became NCHWc ones) and the raw profile.
 *
 *   node --conditions=sdxs-source --import tsx benchmarks/vae-profile.ts [--latent 32] [--runs 3] [--save dir] [--no-profile]
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { join } from 'node:path';
import * as C from '../packages/core/src/index.js';
import { createOrtBackend } from '../packages/core/src/backends/ort/index.js';
import type { OrtRunnerOptions } from '../packages/core/src/backends/ort/runner.js';
import { nodeRuntime, type SessionSource } from '../packages/core/src/backends/ort/runtime.js';
import { AsymmetricAutoencoderKL } from '../packages/vae/src/index.js';
import { tiledRandomHalf } from './random-weights.js';
import { VAE_REAL_CONFIG } from './vae.bench.js';
import { profileTables, type OrtProfileEvent } from './profile-table.js';

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
};
const latent = Number(arg('latent', '32'));
const runs = Number(arg('runs', '3'));
const save = arg('save', '');
const threads = Number(arg('threads', '2'));


const rt = await nodeRuntime('cpu');
let captured: SessionSource | null = null;
const capture = { ...rt, create: (src: SessionSource) => ((captured = src), rt.create(src)) };
// --lower '{"groupNormReductions":false}' overrides ort-cpu's lowering options (to compare them)
const overrides = JSON.parse(arg('lower', '{}')) as OrtRunnerOptions;
C.registerBackend('ort-cpu-profiled', async () => createOrtBackend('ort-cpu-profiled', capture, false, 'float32', overrides) as unknown as C.Backend, -1);
await C.setBackend('ort-cpu-profiled');

const vae = new AsymmetricAutoencoderKL(VAE_REAL_CONFIG);
tiledRandomHalf(vae, 1234);
const z = C.randomNormal([1, 32, latent, latent], { seed: 2 });
const wall: number[] = [];
const cpu: number[] = [];
for (let i = 0; i <= runs; i++) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const y = vae.decode(z);
  await y.data();
  y.dispose();
  const c = process.cpuUsage(c0);
  wall.push(performance.now() - t0);
  cpu.push((c.user + c.system) / 1000);
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const steady = { wallMs: Math.round(median(wall.slice(1))), cpuMs: Math.round(median(cpu.slice(1))), firstMs: Math.round(wall[0]!), runsMs: wall.slice(1).map(Math.round) };
console.log(JSON.stringify({ latent, threads: process.env.SDXS_ORT_THREADS ?? 'default', ...steady, loadavg: os.loadavg()[0] }));

const src = captured as SessionSource | null;
if (!src) throw new Error('no session was created');
if (save) {
  // the model and its external-data files, loadable from disk (python -c "onnxruntime.InferenceSession('decode.onnx')")
  mkdirSync(save, { recursive: true });
  writeFileSync(join(save, 'decode.onnx'), src.bytes);
  for (const f of src.externalData) writeFileSync(join(save, f.path), f.data);
}
if (!process.argv.includes('--no-profile')) {
  const ort = createRequire(import.meta.url)('onnxruntime-node') as {
    InferenceSession: { create(b: Uint8Array, o: object): Promise<{ run(f: object): Promise<Record<string, { data: unknown }>>; endProfiling(): void; release(): Promise<void>; inputNames: readonly string[] }> };
    Tensor: new (t: string, d: Float32Array, dims: number[]) => unknown;
  };
  const dir = save || join(os.tmpdir(), `vae-profile-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const s = await ort.InferenceSession.create(src.bytes, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    externalData: src.externalData,
    enableProfiling: true,
    profileFilePrefix: join(dir, 'profile'),
    ...(save ? { optimizedModelFilePath: join(dir, 'decode.optimized.onnx') } : {}),
  });
  const feed = { [s.inputNames[0]!]: new ort.Tensor('float32', (await z.data()) as Float32Array, [1, 32, latent, latent]) };
  await s.run(feed); // warm-up: only the second run is summed
  await s.run(feed);
  s.endProfiling();
  await s.release();
  const file = readdirSync(dir).filter((f) => f.startsWith('profile')).sort().pop()!;
  const events = JSON.parse(readFileSync(join(dir, file), 'utf8')) as OrtProfileEvent[];
  const lastRun = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').pop()!;
  const perRun = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time') && e.ts >= lastRun.ts);
  console.log(profileTables(perRun, lastRun.dur, Number(arg('top', '25'))));
  if (!save) rmSync(dir, { recursive: true, force: true });
}
z.dispose();
vae.dispose();
process.exit(0);
