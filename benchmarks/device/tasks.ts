/**
 * What one worker process of the device run measures (the driver starts each in a fresh process, with a time cap):
 * fixture parity on one backend and compute precision, a UNet step, a VAE decode, or writing the model folder that
 * `sdxs generate` runs on. Each prints one `RESULT {json}` line on stdout.
 */
import path from 'node:path';
import * as C from '@sdxs/core';
import { makeTinyModel } from '@sdxs/pipeline';
import { UNet2DConditionModel } from '@sdxs/unet';
import { AsymmetricAutoencoderKL } from '@sdxs/vae';
import { makeRealModel } from '../make-real-model.js';
import { tiledRandomHalf } from '../random-weights.js';
import { QUICK_CONFIG as UNET_QUICK_CONFIG, REAL_CONFIG as UNET_REAL_CONFIG } from '../unet.bench.js';
import { VAE_QUICK_CONFIG, VAE_REAL_CONFIG } from '../vae.bench.js';
import { type ParityCheck, readOutputs, runParity, saveOutputs } from './fixture-parity.js';

export type Compute = C.ComputePrecision;

/** Fixture files the real-config model folder takes its tokenizer and scheduler from (make-real-model.ts). */
export const MODEL_FIXTURE_FILES: readonly string[] = [
  'diffusers/scheduler-flow-shift5/scheduler_config.json',
  'qwen/tokenizer-qwen3/tokenizer.json',
  'qwen/tokenizer-qwen3/tokenizer_config.json',
];

export type Task =
  | { kind: 'parity'; backend: string; compute: Compute; fixtures: string; cases?: string[]; saveTo?: string; against?: string }
  | { kind: 'unet-step'; backend: string; compute: Compute; quick: boolean; latent: number; batch: number; tokens: number; runs: number }
  | { kind: 'vae-decode'; backend: string; compute: Compute; quick: boolean; latent: number; runs: number }
  | { kind: 'make-model'; dir: string; real: boolean };

export interface TaskResult {
  status: 'ok' | 'unavailable' | 'error';
  /** the backend's precision as it reports it (computeOf), when it started */
  computeUsed?: Compute;
  error?: string;
  /** timed cases: first call (compile included) and the steady median, seconds */
  firstS?: number;
  steadyS?: number;
  timesS?: number[];
  setupS?: number;
  params?: number;
  checks?: ParityCheck[];
  /** this process's peak resident set, MiB */
  peakRssMiB?: number;
}

const line = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 400);

async function select(backend: string, compute: Compute): Promise<TaskResult | null> {
  try {
    const b = await C.setBackend(backend, { compute });
    const used = C.computeOf(b);
    if (used !== compute) return { status: 'unavailable', computeUsed: used, error: `${backend} computes in ${used}, not ${compute}` };
    return null;
  } catch (e) {
    return { status: 'unavailable', error: line(e) };
  }
}

/** First call, then `runs` timed calls of `run` (each waits for its output on the host). */
async function timeCalls(run: () => C.Tensor, runs: number): Promise<Pick<TaskResult, 'firstS' | 'steadyS' | 'timesS'>> {
  const once = async (): Promise<number> => {
    const t0 = performance.now();
    const y = run();
    await y.data();
    y.dispose();
    return (performance.now() - t0) / 1000;
  };
  const firstS = await once();
  const timesS: number[] = [];
  for (let i = 0; i < runs; i++) timesS.push(await once());
  const sorted = [...timesS].sort((a, b) => a - b);
  return { firstS, timesS, steadyS: sorted.length ? sorted[Math.floor(sorted.length / 2)]! : undefined };
}

async function unetStep(t: Extract<Task, { kind: 'unet-step' }>): Promise<TaskResult> {
  const t0 = performance.now();
  const config = t.quick ? UNET_QUICK_CONFIG : UNET_REAL_CONFIG;
  const unet = UNet2DConditionModel.fromConfig(config);
  tiledRandomHalf(unet, 1234);
  const ctxDim = config.cross_attention_dim as number;
  const x = C.randomNormal([t.batch, 32, t.latent, t.latent], { seed: 1 });
  const ctx = C.randomNormal([t.batch, t.tokens, ctxDim], { seed: 2 });
  // the pipeline's layout: right-padded conditioning, a quarter of it real tokens
  const keep = Math.max(1, Math.round(t.tokens / 4));
  const mask = C.fromData(Float32Array.from({ length: t.batch * t.tokens }, (_, i) => (i % t.tokens < keep ? 1 : 0)), [t.batch, t.tokens], 'float32');
  const setupS = (performance.now() - t0) / 1000;
  const timed = await timeCalls(() => unet.forward(x, 500, ctx, mask), t.runs);
  const params = unet.numParameters();
  C.dispose([x, ctx, mask]);
  unet.dispose();
  return { status: 'ok', setupS, params, ...timed };
}

async function vaeDecode(t: Extract<Task, { kind: 'vae-decode' }>): Promise<TaskResult> {
  const t0 = performance.now();
  const vae = new AsymmetricAutoencoderKL(t.quick ? VAE_QUICK_CONFIG : VAE_REAL_CONFIG);
  tiledRandomHalf(vae, 1);
  const z = C.randomNormal([1, 32, t.latent, t.latent], { seed: 2 });
  const setupS = (performance.now() - t0) / 1000;
  const timed = await timeCalls(() => vae.decode(z), t.runs);
  const params = vae.numParameters();
  z.dispose();
  vae.dispose();
  return { status: 'ok', setupS, params, ...timed };
}

async function parity(t: Extract<Task, { kind: 'parity' }>): Promise<TaskResult> {
  const against = t.against ? await readOutputs(t.against) : null;
  // each check also goes out as it comes (a `CHECK {json}` line), so a worker stopped at its cap still reports
  const { checks, outputs } = await runParity(t.fixtures, t.compute === 'float16', against, (c, s) => {
    process.stdout.write(`CHECK ${JSON.stringify(c)}\n`);
    process.stderr.write(`[parity] ${t.backend}:${t.compute} ${c.name}: ${c.error ?? c.relErr.toExponential(1)} (${s.toFixed(1)} s into the case)\n`);
  }, t.cases);
  if (t.saveTo) await saveOutputs(t.saveTo, outputs);
  return { status: 'ok', checks };
}

async function makeModel(t: Extract<Task, { kind: 'make-model' }>): Promise<TaskResult> {
  const t0 = performance.now();
  await C.setBackend('cpu');
  // makeRealModel reads the tokenizer and scheduler from SDXS_FIXTURES, which the driver sets for its workers
  if (t.real) await makeRealModel(path.resolve(t.dir));
  else await makeTinyModel(path.resolve(t.dir));
  return { status: 'ok', setupS: (performance.now() - t0) / 1000 };
}

/** Runs one task in this process and returns its result (never throws: failures are results). */
export async function runTask(t: Task): Promise<TaskResult> {
  try {
    if (t.kind === 'make-model') return await makeModel(t);
    const refused = await select(t.backend, t.compute);
    if (refused) return refused;
    if (t.kind === 'parity') return await parity(t);
    if (t.kind === 'unet-step') return await unetStep(t);
    return await vaeDecode(t);
  } catch (e) {
    return { status: 'error', error: line(e) };
  }
}
