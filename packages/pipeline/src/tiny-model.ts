/**
 * The one writer of SDXS model folders in the released layout (model_index.json, vae/, unet/, text_encoder/,
 * tokenizer/, scheduler/) with seeded random weights: `writeSdxsModelFolder`. Its callers only choose the
 * parts: `makeTinyModel` (`sdxs make-tiny-model`: everything written here, nothing read), the test folder of
 * tools/make-tiny-model.ts (the fixture VAE, UNet, tokenizer and scheduler copied in) and the full-size
 * benchmark folder of benchmarks/make-real-model.ts (real sizes, float16). Node only.
 *
 *   sdxs make-tiny-model tiny && sdxs generate "a red fox" --model tiny -o fox.png
 */
import * as C from '@sdxs/core';
import { Qwen35TextModel, Qwen35VisionModel, parseQwen35Config, parseQwen35VisionConfig } from '@sdxs/text-qwen';
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

/**
 * The tiny text tower: every layer type, GQA, partial rotary, multimodal rope, tied embeddings; `vocab_size` and
 * `eos_token_id` come from the tokenizer the writer puts beside it.
 */
export function tinyTextConfig(hiddenSize: number): C.ConfigObject {
  return {
    model_type: 'qwen3_5_text',
    hidden_size: hiddenSize,
    intermediate_size: hiddenSize * 2,
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
    attention_bias: false,
    use_cache: true,
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

/** A config file's content, or a file (a folder for a component) to copy as it is. */
export type FolderSource = C.ConfigObject | { copyFrom: string };
export type FolderComponent = 'vae' | 'unet' | 'text_encoder';
/** The tensors to write for `module` (built from the config, parameters unset), seeded by `seed`. */
export type ComponentWeights = (module: C.Module, component: FolderComponent, seed: number) => C.SafetensorsTensorMap | Promise<C.SafetensorsTensorMap>;

export interface SdxsFolderOptions {
  /** `vae/config.json` (weights made by `weights`), or a diffusers folder whose config and weights are copied */
  vae: FolderSource;
  unet: FolderSource;
  /** `scheduler/scheduler_config.json`, or a file to copy */
  scheduler: FolderSource;
  /** the byte-level tokenizer made here (every byte a token, Qwen's chat tokens), or a folder with tokenizer.json and tokenizer_config.json */
  tokenizer: 'byte-level' | { copyFrom: string };
  /** written as `tokenizer/chat_template.jinja` */
  chatTemplate?: string;
  /** the text tower's `text_config` (tied embeddings); `vocab_size` and `eos_token_id` default to the tokenizer's */
  textConfig: C.ConfigObject;
  /** add a tiny random vision tower and the processor's config (default true) */
  vision?: boolean;
  /** also write `text_encoder/generation_config.json` (default false) */
  generationConfig?: boolean;
  /** the seed of each random part */
  seeds: { vae?: number; unet?: number; text: number; vision?: number };
  /** how weights are made (default: the models' own seeded initialisation, float32) */
  weights?: ComponentWeights;
  /** extra keys of model_index.json */
  index?: C.ConfigObject;
}

/** Tensors of a module's parameters as they are (its values must be set), in `dtype`. */
export async function parameterTensors(module: C.Module, dtype: 'F32' | 'F16'): Promise<C.SafetensorsTensorMap> {
  const tensors: C.SafetensorsTensorMap = {};
  for (const [name, p] of module.namedParameters()) {
    tensors[name] = dtype === 'F32' ? { dtype, shape: [...p.shape], data: (await p.value.data()) as Float32Array } : { dtype, shape: [...p.shape], data: (await p.value.data()) as Uint16Array };
  }
  return tensors;
}

/** The default weights: the VAE's and UNet's seeded initialisation, the text tower's reference-like values (float32). */
export const tinyWeights: ComponentWeights = async (module, component, seed) => {
  if (component === 'text_encoder') {
    const g = new C.RandomGenerator(seed);
    const tensors: C.SafetensorsTensorMap = {};
    for (const [name, p] of module.namedParameters()) tensors[name] = { dtype: 'F32', shape: [...p.shape], data: textInit(name, p.shape, g) };
    return tensors;
  }
  if (component === 'vae') randomizeVae(module as AsymmetricAutoencoderKL, { seed });
  else randomizeUNet(module as UNet2DConditionModel, { seed });
  return parameterTensors(module, 'F32');
};

const isCopy = (s: FolderSource | 'byte-level'): s is { copyFrom: string } => typeof s === 'object' && typeof (s as { copyFrom?: unknown }).copyFrom === 'string';

/** Writes an SDXS model folder into `dir` (created; files of the same names are replaced); returns its size in bytes. */
export async function writeSdxsModelFolder(dir: string, o: SdxsFolderOptions): Promise<number> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const json = (v: unknown): string => `${JSON.stringify(v, null, 2)}\n`;
  const weights = o.weights ?? tinyWeights;
  for (const d of ['vae', 'unet', 'text_encoder', 'tokenizer', 'scheduler']) await fs.mkdir(path.join(dir, d), { recursive: true });
  await fs.writeFile(
    path.join(dir, 'model_index.json'),
    json({
      _class_name: 'SdxsPipeline',
      ...o.index,
      scheduler: ['diffusers', 'FlowMatchEulerDiscreteScheduler'],
      text_encoder: ['transformers', 'Qwen3_5ForConditionalGeneration'],
      tokenizer: ['transformers', 'Qwen2TokenizerFast'],
      unet: ['diffusers', 'UNet2DConditionModel'],
      vae: ['diffusers', 'AsymmetricAutoencoderKL'],
    }),
  );
  const schedulerFile = path.join(dir, 'scheduler/scheduler_config.json');
  if (isCopy(o.scheduler)) await fs.copyFile(o.scheduler.copyFrom, schedulerFile);
  else await fs.writeFile(schedulerFile, json(o.scheduler));

  // tokenizer: its vocabulary size and chat token ids go into the text encoder's config
  let tokenizerJson: { model: { vocab: Record<string, number> }; added_tokens: { id: number; content: string }[] };
  if (o.tokenizer === 'byte-level') {
    const files = tokenizerFiles();
    tokenizerJson = files.tokenizerJson as typeof tokenizerJson;
    await fs.writeFile(path.join(dir, 'tokenizer/tokenizer.json'), JSON.stringify(files.tokenizerJson));
    await fs.writeFile(path.join(dir, 'tokenizer/tokenizer_config.json'), json(files.tokenizerConfig));
  } else {
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) await fs.copyFile(path.join(o.tokenizer.copyFrom, f), path.join(dir, 'tokenizer', f));
    tokenizerJson = JSON.parse(await fs.readFile(path.join(o.tokenizer.copyFrom, 'tokenizer.json'), 'utf8')) as typeof tokenizerJson;
  }
  if (o.chatTemplate !== undefined) await fs.writeFile(path.join(dir, 'tokenizer/chat_template.jinja'), o.chatTemplate);
  const vocab = [...Object.values(tokenizerJson.model.vocab), ...tokenizerJson.added_tokens.map((t) => t.id)].reduce((m, v) => Math.max(m, v), 0) + 1;
  const addedId = (content: string): number => {
    const t = tokenizerJson.added_tokens.find((x) => x.content === content);
    if (!t) throw new C.InputError(`the tokenizer has no ${content}`);
    return t.id;
  };

  for (const part of ['vae', 'unet'] as const) {
    const src = o[part];
    if (isCopy(src)) {
      for (const f of ['config.json', 'diffusion_pytorch_model.safetensors']) await fs.copyFile(path.join(src.copyFrom, f), path.join(dir, part, f));
      continue;
    }
    const module: C.Module = part === 'vae' ? AsymmetricAutoencoderKL.fromConfig(src) : UNet2DConditionModel.fromConfig(src);
    try {
      const tensors = await weights(module, part, o.seeds[part] ?? o.seeds.text);
      await fs.writeFile(path.join(dir, part, 'config.json'), json(src));
      await C.saveSafetensors(path.join(dir, part, 'diffusion_pytorch_model.safetensors'), tensors, { format: 'pt' });
    } finally {
      module.dispose();
    }
  }

  const eos = addedId('<|im_end|>');
  const text: C.ConfigObject = { ...o.textConfig, vocab_size: o.textConfig.vocab_size ?? vocab, eos_token_id: o.textConfig.eos_token_id ?? eos };
  const textCfg = parseQwen35Config(text, 'text_config');
  if (!textCfg.tieWordEmbeddings) throw new C.InputError('writeSdxsModelFolder writes text towers with tied embeddings (tie_word_embeddings: true), as SDXS has');
  const vision = o.vision === false ? undefined : tinyVisionParts(textCfg.hiddenSize, o.seeds.vision ?? o.seeds.text + 1);
  const vlm: C.ConfigObject = { architectures: ['Qwen3_5ForConditionalGeneration'], model_type: 'qwen3_5', text_config: text, tie_word_embeddings: true };
  if (vision) {
    Object.assign(vlm, {
      vision_config: vision.visionConfig,
      image_token_id: addedId('<|image_pad|>'),
      vision_start_token_id: addedId('<|vision_start|>'),
      vision_end_token_id: addedId('<|vision_end|>'),
    });
    await fs.writeFile(path.join(dir, 'tokenizer/preprocessor_config.json'), json(vision.preprocessorConfig));
  }
  await fs.writeFile(path.join(dir, 'text_encoder/config.json'), json(vlm));
  if (o.generationConfig) {
    await fs.writeFile(path.join(dir, 'text_encoder/generation_config.json'), json({ eos_token_id: [eos], do_sample: true, temperature: 0.7, top_k: 20, top_p: 0.8 }));
  }
  // the released checkpoint's names: model.language_model.* for the text tower, model.visual.* for the vision tower
  const lm = new Qwen35TextModel(textCfg);
  try {
    const tensors: C.SafetensorsTensorMap = {};
    for (const [name, t] of Object.entries(await weights(lm, 'text_encoder', o.seeds.text))) tensors[`model.language_model.${name}`] = t;
    if (vision) Object.assign(tensors, vision.tensors);
    await C.saveSafetensors(path.join(dir, 'text_encoder/model.safetensors'), tensors, { format: 'pt' });
  } finally {
    lm.dispose();
  }

  let bytes = 0;
  for (const d of ['', 'vae', 'unet', 'text_encoder', 'tokenizer', 'scheduler']) {
    for (const f of await fs.readdir(path.join(dir, d), { withFileTypes: true })) if (f.isFile()) bytes += (await fs.stat(path.join(dir, d, f.name))).size;
  }
  return bytes;
}

/**
 * Writes the tiny model of `sdxs make-tiny-model` into `dir`: everything made here, nothing downloaded or read
 * (the tokenizer is a byte-level BPE without merges, every byte one token, with Qwen's chat tokens); returns
 * its size in bytes. Runs on the active backend (any; the cpu backend is fine).
 */
export async function makeTinyModel(dir: string, opts: { seed?: number } = {}): Promise<number> {
  const seed = opts.seed ?? 1234;
  return writeSdxsModelFolder(dir, {
    vae: VAE_CONFIG,
    unet: UNET_CONFIG,
    scheduler: SCHEDULER_CONFIG,
    tokenizer: 'byte-level',
    textConfig: tinyTextConfig(CROSS_DIM),
    seeds: { vae: seed, unet: seed + 1, text: seed + 2, vision: seed + 3 },
    index: { _sdxs_note: 'made by `sdxs make-tiny-model`: random weights, for trying the tools offline' },
  });
}
