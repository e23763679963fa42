/**
 * One LoRA training step of the SDXS-1B UNet (issue 12): the real UNet config (benchmarks/unet.bench.ts,
 * SPEC.md) with seeded random float16 weights kept 16-bit and frozen, rank-16 adapters on the default targets
 * (attn1/attn2 q, k, v, out and the feed-forward of every transformer block), batch 1, 249-token
 * conditioning of width 2048, gradient checkpointing on, AdamW on the adapters. Times each step for 32x32 and
 * 64x64 latents (512 and 1024 px images through the 16x VAE) and reads the peak RSS (VmHWM of
 * /proc/self/status, reset between sizes through /proc/self/clear_refs where the kernel allows it).
 * Prints one JSON object on stdout; progress on stderr.
 *
 *   node --conditions=sdxs-source --import tsx benchmarks/lora-step.ts [--backend cpu|ort-cpu|tfjs-wasm] [--sizes 32,64] [--steps 2] [--rank 16]
 *   node --conditions=sdxs-source --import tsx benchmarks/lora-step.ts --tiny          (a small UNet of the same shape: a smoke run in seconds)
 *
 * The real config needs about 10+ minutes of 2 CPU cores per step at 64x64 on `cpu`; run one backend per process.
 * The first step of each size includes one-time work (graph compiles on ort-*); `msPerStep` is the mean of the rest.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as C from '../packages/core/src/index.js';
import { addTrainableLora } from '../packages/train/src/lora-adapters.js';
import { Trainer, type BatchSource } from '../packages/train/src/trainer.js';
import { UNet2DConditionModel } from '../packages/unet/src/index.js';
import { tiledRandomHalf } from './random-weights.js';
import { QUICK_CONFIG, REAL_CONFIG } from './unet.bench.js';

const arg = (n: string): string | undefined => {
  const i = process.argv.indexOf(`--${n}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const tiny = process.argv.includes('--tiny');
const backend = arg('backend') ?? 'cpu';
const sizes = (arg('sizes') ?? (tiny ? '8,16' : '32,64')).split(',').map(Number);
const steps = Number(arg('steps') ?? 2);
const rank = Number(arg('rank') ?? 16);

const config = tiny ? QUICK_CONFIG : { ...REAL_CONFIG, sample_size: 64 };
const tokens = tiny ? 8 : 249;
const crossDim = config.cross_attention_dim as number;

/** kB fields of /proc/self/status in MiB (null off Linux). */
function procStatus(field: 'VmHWM' | 'VmRSS'): number | null {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Reset the peak RSS to the current RSS (Linux: write 5 to clear_refs); false where not allowed. */
function resetPeak(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

function source(side: number): BatchSource {
  const g = new C.RandomGenerator(1);
  return {
    async next() {
      const latents = C.randomNormal([1, config.in_channels as number, side, side], { generator: g });
      const cond = C.randomNormal([1, tokens, crossDim], { generator: g });
      const mask = C.ones([1, tokens]);
      return { latents, cond, mask, dispose: () => C.dispose([latents, cond, mask]) };
    },
    getState: () => ({}),
    setState: () => {},
  };
}

const log = (s: string): void => void process.stderr.write(`${s}\n`);

if (!(await C.isBackendAvailable(backend))) {
  log(`backend ${backend} is not available here: ${await C.backendFailure(backend)}`);
  process.exit(1);
}
await C.setBackend(backend);
const t0 = performance.now();
const unet = UNet2DConditionModel.fromConfig(config);
tiledRandomHalf(unet, 2); // float16 storage: the frozen base as a 16-bit checkpoint loads
const params = await addTrainableLora(unet, { rank }, 0);
const trainer = await Trainer.create({
  model: unet,
  params,
  optimizer: 'adamw',
  schedule: { baseLr: 1e-4, warmupSteps: 0, totalSteps: 1000 },
  gradientCheckpointing: true,
  flow: { condDropout: 0 },
  uncond: null,
});
const adapterValues = params.reduce((s, [, p]) => s + p.shape.reduce((a, b) => a * b, 1), 0);
log(`${tiny ? 'tiny' : 'real'} UNet ${(unet.numParameters() / 1e6).toFixed(0)} M parameters (${(unet.parameterBytes() / 2 ** 30).toFixed(2)} GiB 16-bit), LoRA rank ${rank}: ${params.length} tensors, ${(adapterValues / 1e6).toFixed(2)} M values; built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const results: { latent: string; stepsMs: number[]; msPerStep: number; peakRssMiB: number | null; peakReset: boolean; loss: number }[] = [];
const rssAfterBuild = procStatus('VmRSS');
for (const side of sizes) {
  const peakReset = resetPeak();
  const src = source(side);
  const stepsMs: number[] = [];
  let loss = Number.NaN;
  for (let i = 0; i < steps; i++) {
    const s = await trainer.trainStep(src);
    stepsMs.push(Math.round(s.ms));
    loss = s.loss;
    log(`${side}x${side} step ${i + 1}/${steps}: ${(s.ms / 1000).toFixed(2)} s, loss ${s.loss.toFixed(4)}, peak RSS ${procStatus('VmHWM')?.toFixed(0) ?? '?'} MiB`);
  }
  const warm = stepsMs.length > 1 ? stepsMs.slice(1) : stepsMs;
  results.push({ latent: `${side}x${side}`, stepsMs, msPerStep: Math.round(warm.reduce((a, b) => a + b, 0) / warm.length), peakRssMiB: procStatus('VmHWM'), peakReset, loss });
}
process.stdout.write(
  `${JSON.stringify(
    {
      config: tiny ? 'tiny (real structure, small widths)' : 'SDXS-1B UNet (real config)',
      backend: C.getBackend(),
      batch: 1,
      tokens,
      rank,
      gradientCheckpointing: true,
      baseDtype: 'float16',
      unetParams: unet.numParameters(),
      baseBytes: unet.parameterBytes(),
      adapterParams: adapterValues,
      rssAfterBuildMiB: rssAfterBuild,
      results,
      note: 'peakRssMiB is the process peak since the size started when peakReset is true, else since the process started',
    },
    null,
    2,
  )}\n`,
);
unet.dispose();
