/**
 * A 1024² image's denoising and decode, measured end to end on ort-cpu (what the README's "1024², 40 steps"
 * figure is): the real UNet (seeded random 16-bit weights) through the sampler's own loop (sampleFlowMatch,
 * flow-match Euler, classifier-free guidance: batch 2 per step) at a [1, 32, 64, 64] latent with 249 text
 * tokens, then the real VAE decode of that latent to 1024². The text encoder is left out (its 248-token encode
 * is compare.ts's qwen-encode case). Prints one JSON line: the first step (compile), the steady steps, the
 * loop's total and the decode.
 *
 *   node --conditions=sdxs-source --import tsx benchmarks/image-1024.ts [--compute int8] [--steps 40]
 * (threads: SDXS_ORT_THREADS, 2 on the benchmark machine)
 */
import os from 'node:os';
import * as C from '../packages/core/src/index.js';
import { FlowMatchEulerDiscreteScheduler, sampleFlowMatch } from '../packages/sampler/src/index.js';
import { UNet2DConditionModel } from '../packages/unet/src/index.js';
import { AsymmetricAutoencoderKL } from '../packages/vae/src/index.js';
import { tiledRandomHalf } from './random-weights.js';
import { REAL_CONFIG } from './unet.bench.js';
import { VAE_REAL_CONFIG } from './vae.bench.js';

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
};
const compute = arg('compute', 'float32') as C.ComputePrecision;
const steps = Number(arg('steps', '40'));
await C.setBackend('ort-cpu', { compute });

const unet = UNet2DConditionModel.fromConfig(REAL_CONFIG);
tiledRandomHalf(unet, 1234);
const cond = C.randomNormal([1, 249, 2048], { seed: 2 });
const uncond = C.randomNormal([1, 249, 2048], { seed: 3 });
const mask = C.tensor(Float32Array.from({ length: 249 }, (_, i) => (i < 200 ? 1 : 0)), [1, 249]);
const noise = C.randomNormal([1, 32, 64, 64], { seed: 4 });
const stepEnds: number[] = [];
const t0 = performance.now();
const latents = await sampleFlowMatch({
  unet,
  scheduler: new FlowMatchEulerDiscreteScheduler({ shift: 3 }),
  initNoise: noise,
  cond,
  condMask: mask,
  uncond,
  uncondMask: mask,
  steps,
  guidanceScale: 4,
  onStep: async ({ latents: l }) => {
    await l.data();
    stepEnds.push(performance.now());
  },
});
const loopMs = performance.now() - t0;
C.dispose([cond, uncond, mask, noise]);
unet.dispose();

const vae = new AsymmetricAutoencoderKL(VAE_REAL_CONFIG);
tiledRandomHalf(vae, 1234);
const t1 = performance.now();
const image = vae.decode(latents);
const shape = image.shape;
await image.data();
const decodeMs = performance.now() - t1;
C.dispose([image, latents]);
vae.dispose();

const per = stepEnds.map((t, i) => t - (i ? stepEnds[i - 1]! : t0));
const steady = per.slice(1).sort((a, b) => a - b);
console.log(
  JSON.stringify({
    compute,
    steps,
    threads: process.env.SDXS_ORT_THREADS ?? 'default',
    firstStepMs: Math.round(per[0]!),
    medianStepMs: Math.round(steady[Math.floor(steady.length / 2)] ?? NaN),
    loopMs: Math.round(loopMs),
    decodeMs: Math.round(decodeMs),
    totalMs: Math.round(loopMs + decodeMs),
    image: shape,
    loadavg: os.loadavg()[0],
  }),
);
process.exit(0);
