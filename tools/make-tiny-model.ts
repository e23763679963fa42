/**
 * Assembles a complete tiny SDXS model folder in the real layout, for end-to-end tests of the pipeline
 * and the CLI: the fixture VAE and UNet, a tiny Qwen3.5 text model (random weights, seeded, hidden size = the
 * UNet's cross_attention_dim) saved under the released checkpoint's names with a VLM-style config and a tiny
 * random vision tower, the fixture's real Qwen tokenizer (with a chat template that renders image parts and the
 * processor's preprocessor_config.json), and the fixture scheduler config. Written by the pipeline's one folder
 * writer (`writeSdxsModelFolder`); only the parts are chosen here.
 *
 *   node --import tsx tools/make-tiny-model.ts <out-dir>
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as C from '@sdxs/core';
import { TINY_CHAT_TEMPLATE, tinyTextConfig, writeSdxsModelFolder } from '@sdxs/pipeline';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export function fixturesRoot(): string {
  return process.env.SDXS_FIXTURES ?? path.resolve(root, '../shared/fixtures');
}

export async function makeTinyModel(out: string, seed = 1234): Promise<string> {
  const fx = fixturesRoot();
  const unetCfg = JSON.parse(await readFile(path.join(fx, 'diffusers/unet-tiny/config.json'), 'utf8')) as { cross_attention_dim: number };
  await writeSdxsModelFolder(out, {
    vae: { copyFrom: path.join(fx, 'diffusers/vae-tiny') },
    unet: { copyFrom: path.join(fx, 'diffusers/unet-tiny') },
    scheduler: { copyFrom: path.join(fx, 'diffusers/scheduler-flow-shift5/scheduler_config.json') },
    tokenizer: { copyFrom: path.join(fx, 'qwen/tokenizer-qwen3') },
    // Qwen3's own template is text-only; this one also renders image parts (as Qwen3.5's does)
    chatTemplate: TINY_CHAT_TEMPLATE,
    textConfig: tinyTextConfig(unetCfg.cross_attention_dim),
    generationConfig: true,
    seeds: { text: seed, vision: seed + 7 },
    index: { _diffusers_version: '0.40.0' },
  });
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const out = process.argv[2];
  if (!out) {
    process.stderr.write('usage: node --import tsx tools/make-tiny-model.ts <out-dir>\n');
    process.exit(2);
  }
  await C.setBackend('cpu');
  await makeTinyModel(path.resolve(out));
  process.stdout.write(`tiny SDXS model written to ${out}\n`);
}
