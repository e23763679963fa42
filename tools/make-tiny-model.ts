/**
 * Assembles a complete tiny SDXS model folder in the real layout, for end-to-end tests of the pipeline
 * and the CLI: model_index.json, the fixture VAE and UNet, a tiny Qwen3.5 text model (random weights,
 * seeded, hidden size = the UNet's cross_attention_dim) saved under the released checkpoint's names with a
 * VLM-style config and a tiny random vision tower, the fixture's real Qwen tokenizer (with a chat template that
 * renders image parts and the processor's preprocessor_config.json), and the fixture scheduler config.
 *
 *   node --import tsx tools/make-tiny-model.ts <out-dir>
 */
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as C from '@sdxs/core';
import { Qwen35ForCausalLM, parseQwen35Config } from '@sdxs/text-qwen';
import { TINY_CHAT_TEMPLATE, tinyVisionParts } from '@sdxs/pipeline';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export function fixturesRoot(): string {
  return process.env.SDXS_FIXTURES ?? path.resolve(root, '../shared/fixtures');
}

/** The tiny text tower: every layer type, GQA, partial rotary, tied embeddings. */
function textConfig(hidden: number, vocab: number, eosId: number): Record<string, unknown> {
  return {
    model_type: 'qwen3_5_text',
    hidden_size: hidden,
    intermediate_size: hidden * 2,
    num_hidden_layers: 4,
    layer_types: ['linear_attention', 'linear_attention', 'linear_attention', 'full_attention'],
    num_attention_heads: 2,
    num_key_value_heads: 1,
    head_dim: 8,
    linear_conv_kernel_dim: 4,
    linear_key_head_dim: 8,
    linear_value_head_dim: 8,
    linear_num_key_heads: 1,
    linear_num_value_heads: 2,
    hidden_act: 'silu',
    rms_norm_eps: 1e-6,
    max_position_embeddings: 4096,
    partial_rotary_factor: 0.25,
    rope_parameters: { rope_type: 'default', rope_theta: 10000000.0, partial_rotary_factor: 0.25, mrope_interleaved: true, mrope_section: [1, 0, 0] },
    tie_word_embeddings: true,
    vocab_size: vocab,
    eos_token_id: eosId,
    attention_bias: false,
    use_cache: true,
  };
}

/** Initial values like the reference's _init_weights, seeded. */
function initValue(name: string, shape: readonly number[], g: C.RandomGenerator): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  if (name.endsWith('linear_attn.norm.weight')) return out.fill(1); // gated RMSNorm: plain weight
  if (name.endsWith('norm.weight')) return out; // zero-centred (1 + w) norms
  if (name.endsWith('dt_bias')) return out.fill(1);
  if (name.endsWith('A_log')) {
    for (let i = 0; i < n; i++) out[i] = Math.log(1 + 15 * g.uniform());
    return out;
  }
  return g.fillNormal(out, 0, name.includes('embed_tokens') ? 0.5 : 0.2);
}

export async function makeTinyModel(out: string, seed = 1234): Promise<string> {
  const fx = fixturesRoot();
  const unetCfg = JSON.parse(await readFile(path.join(fx, 'diffusers/unet-tiny/config.json'), 'utf8')) as { cross_attention_dim: number };
  const tokDir = path.join(fx, 'qwen/tokenizer-qwen3');
  const tokJson = JSON.parse(await readFile(path.join(tokDir, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> }; added_tokens: { id: number; content: string }[] };
  const vocab = [...Object.values(tokJson.model.vocab), ...tokJson.added_tokens.map((t) => t.id)].reduce((m, v) => Math.max(m, v), 0) + 1;
  const eos = tokJson.added_tokens.find((t) => t.content === '<|im_end|>')?.id ?? vocab - 1;

  for (const d of ['vae', 'unet', 'text_encoder', 'tokenizer', 'scheduler']) await mkdir(path.join(out, d), { recursive: true });
  await writeFile(
    path.join(out, 'model_index.json'),
    `${JSON.stringify(
      {
        _class_name: 'SdxsPipeline',
        _diffusers_version: '0.40.0',
        scheduler: ['diffusers', 'FlowMatchEulerDiscreteScheduler'],
        text_encoder: ['transformers', 'Qwen3_5ForConditionalGeneration'],
        tokenizer: ['transformers', 'Qwen2TokenizerFast'],
        unet: ['diffusers', 'UNet2DConditionModel'],
        vae: ['diffusers', 'AsymmetricAutoencoderKL'],
      },
      null,
      2,
    )}\n`,
  );
  for (const part of ['vae', 'unet'] as const) {
    for (const f of ['config.json', 'diffusion_pytorch_model.safetensors']) await copyFile(path.join(fx, `diffusers/${part}-tiny`, f), path.join(out, part, f));
  }
  await copyFile(path.join(fx, 'diffusers/scheduler-flow-shift5/scheduler_config.json'), path.join(out, 'scheduler/scheduler_config.json'));
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) await copyFile(path.join(tokDir, f), path.join(out, 'tokenizer', f));
  // Qwen3's own template is text-only; this one also renders image parts (as Qwen3.5's does)
  await writeFile(path.join(out, 'tokenizer/chat_template.jinja'), TINY_CHAT_TEMPLATE);
  const addedId = (content: string): number => {
    const t = tokJson.added_tokens.find((x) => x.content === content);
    if (!t) throw new Error(`the fixture tokenizer has no ${content}`);
    return t.id;
  };
  const vision = tinyVisionParts(unetCfg.cross_attention_dim, seed + 7);
  await writeFile(path.join(out, 'tokenizer/preprocessor_config.json'), `${JSON.stringify(vision.preprocessorConfig, null, 2)}\n`);

  const text = textConfig(unetCfg.cross_attention_dim, vocab, eos);
  const vlm = {
    architectures: ['Qwen3_5ForConditionalGeneration'],
    model_type: 'qwen3_5',
    text_config: text,
    tie_word_embeddings: true,
    vision_config: vision.visionConfig,
    image_token_id: addedId('<|image_pad|>'),
    vision_start_token_id: addedId('<|vision_start|>'),
    vision_end_token_id: addedId('<|vision_end|>'),
  };
  await writeFile(path.join(out, 'text_encoder/config.json'), `${JSON.stringify(vlm, null, 2)}\n`);
  await writeFile(path.join(out, 'text_encoder/generation_config.json'), `${JSON.stringify({ eos_token_id: [eos], do_sample: true, temperature: 0.7, top_k: 20, top_p: 0.8 }, null, 2)}\n`);

  const lm = new Qwen35ForCausalLM(parseQwen35Config(text, 'tiny text config'));
  const g = new C.RandomGenerator(seed);
  const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
  for (const [name, p] of lm.namedParameters()) {
    const key = name.startsWith('model.') ? `model.language_model.${name.slice('model.'.length)}` : name;
    tensors[key] = { dtype: 'F32', shape: [...p.shape], data: initValue(name, p.shape, g) };
  }
  // the vision tower, as released checkpoints have: the text loader skips it unread, image prompts use it
  Object.assign(tensors, vision.tensors);
  await C.saveSafetensors(path.join(out, 'text_encoder/model.safetensors'), tensors, { format: 'pt' });
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
