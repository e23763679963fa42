/**
 * Training throughput and peak memory per backend (not part of CI).
 *   node --conditions=sdxs-source --import tsx benchmarks/train.bench.ts [--steps 5] [--backends cpu,tfjs-wasm] [--real]
 * tiny: unet-tiny fixture, batch 2, 8x8 latents, AdamW8bit, with and without gradient checkpointing.
 * real: the SDXS-1B UNet config (SPEC.md, random weights), one step, batch 1, 64x64 latent, 249-token
 *       conditioning, gradient checkpointing on. Needs ~30 GB of host memory in float32.
 * Peak memory is the process's max RSS (getrusage), so run one configuration per process for clean peaks.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as C from '../packages/core/src/index.js';
import { Trainer } from '../packages/train/src/trainer.js';
import type { BatchSource } from '../packages/train/src/trainer.js';
import { UNet2DConditionModel, randomizeWeights } from '../packages/unet/src/index.js';
import { REAL_CONFIG } from './unet.bench.js';

const arg = (n: string): string | undefined => {
  const i = process.argv.indexOf(`--${n}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const fixtures = process.env.SDXS_FIXTURES ?? path.resolve(root, '../shared/fixtures');
const real = process.argv.includes('--real');
const steps = Number(arg('steps') ?? (real ? 1 : 5));
const backends = (arg('backends') ?? 'cpu,tfjs-cpu,tfjs-wasm,tfjs-webgpu').split(',');

const SDXS_UNET = { ...REAL_CONFIG, sample_size: 64 };

function source(b: number, lat: [number, number, number], cond: [number, number]): BatchSource {
  const g = new C.RandomGenerator(1);
  return {
    async next() {
      const latents = C.randomNormal([b, ...lat], { generator: g });
      const c = C.randomNormal([b, ...cond], { generator: g });
      const mask = C.ones([b, cond[0]]);
      return { latents, cond: c, mask, dispose: () => C.dispose([latents, c, mask]) };
    },
    getState: () => ({}),
    setState: () => {},
  };
}

const rows: string[] = [];
for (const backend of backends) {
  if (!(await C.isBackendAvailable(backend))) {
    console.warn(`skip ${backend}: ${await C.backendFailure(backend)}`);
    continue;
  }
  await C.setBackend(backend);
  for (const ckpt of real ? [true] : [false, true]) {
    const model = real ? UNet2DConditionModel.fromConfig(SDXS_UNET) : await UNet2DConditionModel.fromPretrained(path.join(fixtures, 'diffusers', 'unet-tiny'));
    if (real) randomizeWeights(model, { seed: 0 });
    const cfg = model.config;
    const src = real ? source(1, [32, 64, 64], [249, 2048]) : source(2, [32, 8, 8], [6, cfg.crossAttentionDim[0]!]);
    const trainer = await Trainer.create({ model, optimizer: 'adamw8bit', schedule: { totalSteps: 100 }, gradientCheckpointing: ckpt, uncond: null, flow: { condDropout: 0 } });
    const times: number[] = [];
    for (let i = 0; i < steps; i++) {
      const s = await trainer.trainStep(src);
      times.push(s.ms);
      if (real) console.log(`step ${i + 1}: ${(s.ms / 1000).toFixed(1)} s, loss ${s.loss.toFixed(4)}`);
    }
    const warm = times.length > 1 ? times.slice(1) : times;
    const ms = warm.reduce((a, b) => a + b, 0) / warm.length;
    const peak = process.resourceUsage().maxRSS / 1024;
    rows.push(`| ${real ? 'real (SDXS-1B UNet, 64x64, b1)' : 'tiny (unet-tiny, 8x8, b2)'} | ${backend} | ${ckpt ? 'on' : 'off'} | ${(1000 / ms).toFixed(3)} | ${ms.toFixed(0)} | ${peak.toFixed(0)} | ${(model.numParameters() / 1e6).toFixed(1)} M |`);
    model.dispose();
  }
}
console.log('| config | backend | grad ckpt | steps/s | ms/step | peak RSS MiB | params |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
