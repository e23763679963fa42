/**
 * A full-size SDXS model folder with seeded random float16 weights at the real configs (VAE 96 M, UNet 1.7 B,
 * Qwen3.5-2B text tower with its 248,320-token embedding), the fixture's Qwen tokenizer and scheduler: what the
 * end-to-end benchmark runs `sdxs generate --model` on (the real checkpoint cannot be downloaded here).
 * About 7.8 GB on disk; each tensor is written as it is made.
 *
 *   node --conditions=sdxs-source --import tsx benchmarks/make-real-model.ts <out-dir>
 */
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as C from '../packages/core/src/index.js';
import { Qwen35TextModel, parseQwen35Config } from '../packages/text-qwen/src/index.js';
import { UNet2DConditionModel } from '../packages/unet/src/index.js';
import { AsymmetricAutoencoderKL } from '../packages/vae/src/index.js';
import { QWEN35_2B } from './qwen-config.js';
import { tiledRandomHalf } from './random-weights.js';
import { REAL_CONFIG } from './unet.bench.js';
import { VAE_REAL_CONFIG } from './vae.bench.js';

const fixtures = process.env.SDXS_FIXTURES ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../shared/fixtures');

async function save(module: C.Module, file: string, prefix = ''): Promise<void> {
  const tensors: C.SafetensorsTensorMap = {};
  for (const [name, p] of module.namedParameters()) tensors[prefix + name] = { dtype: 'F16', shape: [...p.shape], data: (await p.value.data()) as Uint16Array };
  await C.saveSafetensors(file, tensors, { format: 'pt' });
}

export async function makeRealModel(out: string): Promise<void> {
  await C.setBackend('cpu');
  for (const d of ['vae', 'unet', 'text_encoder', 'tokenizer', 'scheduler']) await mkdir(path.join(out, d), { recursive: true });
  const index = {
    _class_name: 'SdxsPipeline',
    scheduler: ['diffusers', 'FlowMatchEulerDiscreteScheduler'],
    text_encoder: ['transformers', 'Qwen3_5ForConditionalGeneration'],
    tokenizer: ['transformers', 'Qwen2TokenizerFast'],
    unet: ['diffusers', 'UNet2DConditionModel'],
    vae: ['diffusers', 'AsymmetricAutoencoderKL'],
  };
  await writeFile(path.join(out, 'model_index.json'), `${JSON.stringify(index, null, 2)}\n`);
  await copyFile(path.join(fixtures, 'diffusers/scheduler-flow-shift5/scheduler_config.json'), path.join(out, 'scheduler/scheduler_config.json'));
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) await copyFile(path.join(fixtures, 'qwen/tokenizer-qwen3', f), path.join(out, 'tokenizer', f));
  const tok = JSON.parse(await readFile(path.join(fixtures, 'qwen/tokenizer-qwen3/tokenizer.json'), 'utf8')) as { added_tokens: { id: number; content: string }[] };
  const eos = tok.added_tokens.find((t) => t.content === '<|im_end|>')?.id ?? 0;

  const vaeConfig = { ...VAE_REAL_CONFIG, latents_mean: Array(32).fill(0), latents_std: Array(32).fill(1) };
  await writeFile(path.join(out, 'vae/config.json'), `${JSON.stringify(vaeConfig, null, 2)}\n`);
  const vae = new AsymmetricAutoencoderKL(vaeConfig);
  tiledRandomHalf(vae, 1);
  await save(vae, path.join(out, 'vae/diffusion_pytorch_model.safetensors'));
  vae.dispose();

  await writeFile(path.join(out, 'unet/config.json'), `${JSON.stringify({ ...REAL_CONFIG, sample_size: 64 }, null, 2)}\n`);
  const unet = UNet2DConditionModel.fromConfig(REAL_CONFIG);
  tiledRandomHalf(unet, 2);
  await save(unet, path.join(out, 'unet/diffusion_pytorch_model.safetensors'));
  unet.dispose();

  const text = { ...QWEN35_2B, eos_token_id: eos, max_position_embeddings: 262144 };
  const vlm = { architectures: ['Qwen3_5ForConditionalGeneration'], model_type: 'qwen3_5', text_config: text, tie_word_embeddings: true };
  await writeFile(path.join(out, 'text_encoder/config.json'), `${JSON.stringify(vlm, null, 2)}\n`);
  const qwen = new Qwen35TextModel(parseQwen35Config(text));
  tiledRandomHalf(qwen, 3);
  await save(qwen, path.join(out, 'text_encoder/model.safetensors'), 'model.language_model.');
  qwen.dispose();
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
