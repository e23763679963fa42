/**
 * A full-size SDXS model folder with seeded random float16 weights at the real configs (VAE 96 M, UNet 1.7 B,
 * Qwen3.5-2B text tower with its 248,320-token embedding), the fixture's Qwen tokenizer and scheduler: what the
 * end-to-end benchmark runs `sdxs generate --model` on (the real checkpoint cannot be downloaded here).
 * About 7.8 GB on disk; each tensor is written as it is made.
 *
 *   node --conditions=sdxs-source --import tsx benchmarks/make-real-model.ts <out-dir>
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as C from '../packages/core/src/index.js';
import { parameterTensors, writeSdxsModelFolder, type ComponentWeights } from '../packages/pipeline/src/index.js';
import { QWEN35_2B } from './qwen-config.js';
import { tiledRandomHalf } from './random-weights.js';
import { REAL_CONFIG } from './unet.bench.js';
import { VAE_REAL_CONFIG } from './vae.bench.js';

const fixtures = process.env.SDXS_FIXTURES ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../shared/fixtures');

/** float16 weights made fast enough for billions of parameters. */
const halfWeights: ComponentWeights = (module, _component, seed) => {
  tiledRandomHalf(module, seed);
  return parameterTensors(module, 'F16');
};

/** The one folder writer (`writeSdxsModelFolder`) at the real sizes, float16, without a vision tower. */
export async function makeRealModel(out: string): Promise<void> {
  await C.setBackend('cpu');
  await writeSdxsModelFolder(out, {
    vae: { ...VAE_REAL_CONFIG, latents_mean: Array(32).fill(0), latents_std: Array(32).fill(1) },
    unet: { ...REAL_CONFIG, sample_size: 64 },
    scheduler: { copyFrom: path.join(fixtures, 'diffusers/scheduler-flow-shift5/scheduler_config.json') },
    tokenizer: { copyFrom: path.join(fixtures, 'qwen/tokenizer-qwen3') },
    textConfig: { ...QWEN35_2B, max_position_embeddings: 262144 },
    vision: false,
    seeds: { vae: 1, unet: 2, text: 3 },
    weights: halfWeights,
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const out = process.argv[2];
  if (!out) {
    process.stderr.write('usage: node --conditions=sdxs-source --import tsx benchmarks/make-real-model.ts <out-dir>\n');
    process.exit(2);
  }
  const t0 = performance.now();
  await makeRealModel(path.resolve(out));
  process.stdout.write(`real-config random SDXS model written to ${out} in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
}
