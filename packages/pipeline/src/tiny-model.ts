/**
 * A complete SDXS model folder in the released layout, but tiny and with random weights: for trying the
 * CLI and the pipeline offline in seconds (the pictures are noise-like, not art). Nothing is downloaded
 * or read: the configs are written here, the weights are seeded, and the tokenizer is a byte-level BPE
 * without merges (every byte one token) with Qwen's chat tokens. Node only.
 *
 *   sdxs make-tiny-model tiny && sdxs generate "a red fox" --model tiny -o fox.png
 */
import * as C from '@sdxs/core';
import { Qwen35ForCausalLM, Qwen35VisionModel, parseQwen35Config, parseQwen35VisionConfig } from '@sdxs/text-qwen';
import { UNet2DConditionModel, randomizeWeights as randomizeUNet } from '@sdxs/unet';
import { AsymmetricAutoencoderKL, randomizeWeights as randomizeVae } from '@sdxs/vae';

const VAE_CONFIG = {
  _class_name: 'AsymmetricAutoencoderKL',
  act_fn: 'silu',
  down_block_out_channels: [8, 16, 16, 16],
  down_block_types: ['DownEncoderBlock2D', 'DownEncoderBlock2D', 'DownEncoderBlock2D', 'DownEncoderBlock2D'],
  up_block_out_channels: [8, 8, 16, 16, 16],
  up_block_types: ['UpDecoderBlock2D', 'UpDecoderBlock2D', 'UpDecoderBlock2D', 'UpDecoderBlock2D', 'UpDecoderBlock2D'],
  in_channels: 3,
  out_channels: 3,
  latent_channels: 32,
  layers_per_down_block: 1,
  layers_per_up_block: 1,
  norm_num_groups: 4,
  sample_size: 64,
  scaling_factor: 1.0,
  latents_mean: new Array<number>(32).fill(0),
  latents_std: new Array<number>(32).fill(1),
};

const CROSS_DIM = 24;
const UNET_CONFIG = {
  _class_name: 'UNet2DConditionModel',
  attention_head_dim: [2, 2, 4, 4],
  block_out_channels: [8, 16, 24, 32],
  cross_attention_dim: CROSS_DIM,
  down_block_types: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'],
  up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
  in_channels: 32,
  out_channels: 32,
  layers_per_block: [1, 1, 1, 1],
  transformer_layers_per_block: [1, 1, 1, 1],
  norm_num_groups: 4,
  norm_eps: 1e-5,
  sample_size: 32,
};

const SCHEDULER_CONFIG = { _class_name: 'FlowMatchEulerDiscreteScheduler', num_train_timesteps: 1000, shift: 5.0, use_dynamic_shifting: false };

const SPECIAL = ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<|vision_start|>', '<|vision_end|>', '<|image_pad|>'];
/** Qwen's chat layout for string or multimodal content (an image part renders as its placeholder). */
export const TINY_CHAT_TEMPLATE =
  "{%- for message in messages %}{{- '<|im_start|>' + message.role + '\\n' }}" +
  '{%- if message.content is string %}{{- message.content }}{%- else %}{%- for part in message.content %}' +
  "{%- if part.type == 'image' %}{{- '<|vision_start|><|image_pad|><|vision_end|>' }}{%- elif part.type == 'text' %}{{- part.text }}{%- endif %}" +
  "{%- endfor %}{%- endif %}{{- '<|im_end|>\\n' }}{%- endfor %}" +
  "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}" +
  "{%- if enable_thinking is defined and enable_thinking is false %}{{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}{%- endif %}";

/** The vision tower (Qwen3.5's layout, tiny): 8-px patches, a 4x4 learned position grid, one block. */
const visionConfig = (outHiddenSize: number): Record<string, unknown> => ({
  model_type: 'qwen3_5_vision',
  depth: 1,
  hidden_size: 16,
  hidden_act: 'gelu_pytorch_tanh',
  intermediate_size: 32,
  num_heads: 2,
  in_channels: 3,
  patch_size: 8,
  temporal_patch_size: 2,
  spatial_merge_size: 2,
  out_hidden_size: outHiddenSize,
  num_position_embeddings: 16,
  rope_parameters: { rope_type: 'axial', rope_theta: 10000.0 },
});

/** Images become at most 64x64 px (8x8 patches, 16 image tokens). */
const PREPROCESSOR_CONFIG = {
  image_processor_type: 'Qwen2VLImageProcessor',
  do_convert_rgb: true,
  do_resize: true,
  do_rescale: true,
  do_normalize: true,
  image_mean: [0.5, 0.5, 0.5],
  image_std: [0.5, 0.5, 0.5],
  merge_size: 2,
  patch_size: 8,
  temporal_patch_size: 2,
  resample: 3,
  rescale_factor: 1 / 255,
  size: { shortest_edge: 1024, longest_edge: 4096 },
};

/** Vision weights: LayerNorms neutral, small normal weights, zero biases. */
function visionInit(name: string, shape: readonly number[], g: C.RandomGenerator): Float32Array {
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  if (/norm[12]?\.weight$/.test(name)) return out.fill(1);
  if (name.endsWith('.bias')) return out;
  return g.fillNormal(out, 0, name.includes('pos_embed') ? 0.5 : 0.1);
}

/** GPT-2's byte → printable character table, which byte-level BPE vocabularies are written in. */
function byteLevelAlphabet(): string[] {
  const printable = (b: number): boolean => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const out: string[] = [];
  let extra = 0;
  for (let b = 0; b < 256; b++) out.push(String.fromCharCode(printable(b) ? b : 256 + extra++));
  return out;
}

function tokenizerFiles(): { tokenizerJson: Record<string, unknown>; tokenizerConfig: Record<string, unknown> } {
  const vocab: Record<string, number> = {};
  byteLevelAlphabet().forEach((ch, i) => (vocab[ch] = i));
  const added = SPECIAL.map((content, i) => ({ id: 256 + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false };
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: { type: 'NFC' },
    pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: "\\s+|[^\\s]+" }, behavior: 'Isolated', invert: false }, byteLevel] },
    post_processor: byteLevel,
    decoder: byteLevel,
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: [] },
  };
  const tokenizerConfig = {
    add_bos_token: false,
    add_prefix_space: false,
    bos_token: null,
    eos_token: '<|im_end|>',
    pad_token: '<|endoftext|>',
    unk_token: null,
    chat_template: TINY_CHAT_TEMPLATE,
    model_max_length: 4096,
    tokenizer_class: 'Qwen2Tokenizer',
    added_tokens_decoder: Object.fromEntries(added.map((t) => [String(t.id), { content: t.content, special: true, normalized: false, lstrip: false, rstrip: false, single_word: false }])),
  };
  return { tokenizerJson, tokenizerConfig };
}

function textConfig(vocab: number, eos: number): Record<string, unknown> {
  return {
    model_type: 'qwen3_5_text',
    hidden_size: CROSS_DIM,
    intermediate_size: CROSS_DIM * 2,
    num_hidden_layers: 2,
    layer_types: ['linear_attention', 'full_attention'],
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
    rope_parameters: { rope_type: 'default', rope_theta: 10000000.0, partial_rotary_factor: 0.25 },
    tie_word_embeddings: true,
    vocab_size: vocab,
    eos_token_id: eos,
    attention_bias: false,
  };
}

/** Seeded values in the spirit of the reference initialisation (norms neutral, small normal weights). */
function textInit(name: string, shape: readonly number[], g: C.RandomGenerator): Float32Array {
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  if (name.endsWith('linear_attn.norm.weight')) return out.fill(1);
  if (name.endsWith('norm.weight')) return out;
  if (name.endsWith('dt_bias')) return out.fill(1);
  if (name.endsWith('A_log')) {
    for (let i = 0; i < out.length; i++) out[i] = Math.log(1 + 15 * g.uniform());
    return out;
  }
  return g.fillNormal(out, 0, name.includes('embed_tokens') ? 0.5 : 0.2);
}

/**
 * A tiny random vision tower for a text encoder of width `outHiddenSize`: its `vision_config`, the processor's
 * `preprocessor_config.json` and the `model.visual.*` tensors (seeded).
 */
export function tinyVisionParts(outHiddenSize: number, seed: number): { visionConfig: Record<string, unknown>; preprocessorConfig: Record<string, unknown>; tensors: C.SafetensorsTensorMap } {
  const cfg = visionConfig(outHiddenSize);
  const visual = new Qwen35VisionModel(parseQwen35VisionConfig({ vision_config: cfg }, 'tiny vision config'));
  const g = new C.RandomGenerator(seed);
  const tensors: C.SafetensorsTensorMap = {};
  for (const [name, p] of visual.namedParameters()) tensors[`model.visual.${name}`] = { dtype: 'F32', shape: [...p.shape], data: visionInit(name, p.shape, g) };
  return { visionConfig: cfg, preprocessorConfig: PREPROCESSOR_CONFIG, tensors };
}

async function saveModule(file: string, module: C.Module, prefix = ''): Promise<void> {
  const tensors: C.SafetensorsTensorMap = {};
  for (const [name, p] of module.namedParameters()) {
    tensors[`${prefix}${name}`] = { dtype: 'F32', shape: [...p.shape], data: (await p.value.data()) as Float32Array };
  }
  await C.saveSafetensors(file, tensors, { format: 'pt' });
}

/**
 * Writes the tiny model into `dir` (created; existing files of the same names are replaced) and returns
 * its size in bytes. Runs on the active backend (any; the cpu backend is fine).
 */
export async function makeTinyModel(dir: string, opts: { seed?: number } = {}): Promise<number> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const seed = opts.seed ?? 1234;
  const json = (v: unknown): string => `${JSON.stringify(v, null, 2)}\n`;
  for (const d of ['vae', 'unet', 'text_encoder', 'tokenizer', 'scheduler']) await fs.mkdir(path.join(dir, d), { recursive: true });
  await fs.writeFile(
    path.join(dir, 'model_index.json'),
    json({
      _class_name: 'SdxsPipeline',
      scheduler: ['diffusers', 'FlowMatchEulerDiscreteScheduler'],
      text_encoder: ['transformers', 'Qwen3_5ForConditionalGeneration'],
      tokenizer: ['transformers', 'Qwen2TokenizerFast'],
      unet: ['diffusers', 'UNet2DConditionModel'],
      vae: ['diffusers', 'AsymmetricAutoencoderKL'],
      _sdxs_note: 'made by `sdxs make-tiny-model`: random weights, for trying the tools offline',
    }),
  );
  await fs.writeFile(path.join(dir, 'scheduler/scheduler_config.json'), json(SCHEDULER_CONFIG));
  const { tokenizerJson, tokenizerConfig } = tokenizerFiles();
  await fs.writeFile(path.join(dir, 'tokenizer/tokenizer.json'), JSON.stringify(tokenizerJson));
  await fs.writeFile(path.join(dir, 'tokenizer/tokenizer_config.json'), json(tokenizerConfig));

  const vae = new AsymmetricAutoencoderKL(VAE_CONFIG);
  randomizeVae(vae, { seed });
  await fs.writeFile(path.join(dir, 'vae/config.json'), json(VAE_CONFIG));
  await saveModule(path.join(dir, 'vae/diffusion_pytorch_model.safetensors'), vae);
  vae.dispose();

  const unet = UNet2DConditionModel.fromConfig(UNET_CONFIG);
  randomizeUNet(unet, { seed: seed + 1 });
  await fs.writeFile(path.join(dir, 'unet/config.json'), json(UNET_CONFIG));
  await saveModule(path.join(dir, 'unet/diffusion_pytorch_model.safetensors'), unet);
  unet.dispose();

  const vocab = 256 + SPECIAL.length;
  const text = textConfig(vocab, 256 + SPECIAL.indexOf('<|im_end|>'));
  const id = (t: string): number => 256 + SPECIAL.indexOf(t);
  const vision = tinyVisionParts(CROSS_DIM, seed + 3);
  const vlmConfig = {
    architectures: ['Qwen3_5ForConditionalGeneration'],
    model_type: 'qwen3_5',
    text_config: text,
    vision_config: vision.visionConfig,
    image_token_id: id('<|image_pad|>'),
    vision_start_token_id: id('<|vision_start|>'),
    vision_end_token_id: id('<|vision_end|>'),
    tie_word_embeddings: true,
  };
  await fs.writeFile(path.join(dir, 'text_encoder/config.json'), json(vlmConfig));
  await fs.writeFile(path.join(dir, 'tokenizer/preprocessor_config.json'), json(vision.preprocessorConfig));
  const lm = new Qwen35ForCausalLM(parseQwen35Config(text, 'tiny text config'));
  const g = new C.RandomGenerator(seed + 2);
  const tensors: C.SafetensorsTensorMap = {};
  for (const [name, p] of lm.namedParameters()) {
    const key = name.startsWith('model.') ? `model.language_model.${name.slice('model.'.length)}` : name;
    tensors[key] = { dtype: 'F32', shape: [...p.shape], data: textInit(name, p.shape, g) };
  }
  Object.assign(tensors, vision.tensors);
  await C.saveSafetensors(path.join(dir, 'text_encoder/model.safetensors'), tensors, { format: 'pt' });

  let bytes = 0;
  for (const d of ['', 'vae', 'unet', 'text_encoder', 'tokenizer', 'scheduler']) {
    for (const f of await fs.readdir(path.join(dir, d), { withFileTypes: true })) if (f.isFile()) bytes += (await fs.stat(path.join(dir, d, f.name))).size;
  }
  return bytes;
}
