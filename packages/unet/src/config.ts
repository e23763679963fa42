/**
 * UNet2DConditionModel config: every key diffusers' constructor takes, parsed into one typed object.
 * Values the SDXS family does not use raise `ConfigError("unsupported: <key>=<value>")` instead of
 * running different math.
 */
import { CONFIG_LIMITS as L, ConfigError, ConfigReader, previewValue, type ConfigObject } from '@sdxs/core';

/** The block types of diffusers' get_down_block / get_up_block / get_mid_block that SDXS uses (blocks.ts builds each). */
export const DOWN_BLOCK_TYPES = ['CrossAttnDownBlock2D', 'DownBlock2D'] as const;
export const UP_BLOCK_TYPES = ['CrossAttnUpBlock2D', 'UpBlock2D'] as const;
export const MID_BLOCK_TYPES = ['UNetMidBlock2DCrossAttn'] as const;
export type DownBlockType = (typeof DOWN_BLOCK_TYPES)[number];
export type UpBlockType = (typeof UP_BLOCK_TYPES)[number];
export type MidBlockType = (typeof MID_BLOCK_TYPES)[number];

export interface UNetConfig {
  inChannels: number;
  outChannels: number;
  centerInputSample: boolean;
  flipSinToCos: boolean;
  freqShift: number;
  downBlockTypes: DownBlockType[];
  upBlockTypes: UpBlockType[];
  /** null: no mid block */
  midBlockType: MidBlockType | null;
  blockOutChannels: number[];
  /** per down block */
  layersPerBlock: number[];
  /** per down block (the up path uses the reverse) */
  transformerLayersPerBlock: number[];
  /** number of heads per down block (diffusers' `attention_head_dim`) */
  numHeads: number[];
  /** per down block */
  crossAttentionDim: number[];
  downsamplePadding: number;
  midBlockScaleFactor: number;
  /** accepted for completeness; diffusers does not pass it to the block types SDXS uses */
  resnetOutScaleFactor: number;
  normNumGroups: number;
  normEps: number;
  useLinearProjection: boolean;
  timeEmbedDim: number;
  convInKernel: number;
  convOutKernel: number;
}

/** Every constructor argument of diffusers' UNet2DConditionModel (0.3x–0.40). */
const KNOWN_KEYS = new Set([
  'sample_size', 'in_channels', 'out_channels', 'center_input_sample', 'flip_sin_to_cos', 'freq_shift',
  'down_block_types', 'mid_block_type', 'up_block_types', 'only_cross_attention', 'block_out_channels',
  'layers_per_block', 'downsample_padding', 'mid_block_scale_factor', 'dropout', 'act_fn', 'norm_num_groups',
  'norm_eps', 'cross_attention_dim', 'transformer_layers_per_block', 'reverse_transformer_layers_per_block',
  'encoder_hid_dim', 'encoder_hid_dim_type', 'attention_head_dim', 'num_attention_heads', 'dual_cross_attention',
  'use_linear_projection', 'class_embed_type', 'addition_embed_type', 'addition_time_embed_dim', 'num_class_embeds',
  'upcast_attention', 'resnet_time_scale_shift', 'resnet_skip_time_act', 'resnet_out_scale_factor',
  'time_embedding_type', 'time_embedding_dim', 'time_embedding_act_fn', 'timestep_post_act', 'time_cond_proj_dim',
  'conv_in_kernel', 'conv_out_kernel', 'projection_class_embeddings_input_dim', 'attention_type',
  'class_embeddings_concat', 'mid_block_only_cross_attention', 'cross_attention_norm', 'addition_embed_type_num_heads',
]);

function unsupported(key: string, value: unknown, why = ''): never {
  throw new ConfigError(`unsupported: ${key}=${previewValue(value)}${why ? ` (${why})` : ''}`);
}

/** An int repeated per block, or one int per block (diffusers accepts both). */
function perBlock(r: ConfigReader, key: string, fallback: number, n: number, min: number, max: number): number[] {
  const v = r.raw(key);
  if (v === undefined) return new Array<number>(n).fill(fallback);
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) r.bad(key, 'an integer or one integer per block');
    return new Array<number>(n).fill(r.range(key, v, min, max));
  }
  if (!Array.isArray(v)) r.bad(key, 'an integer or one integer per block');
  if (v.some((x) => Array.isArray(x))) unsupported(key, v, 'nested per-layer lists (asymmetric UNets) are not used by SDXS');
  if (!v.every((x) => typeof x === 'number' && Number.isSafeInteger(x))) r.bad(key, 'an integer or one integer per block');
  if (v.length !== n) r.fail(key, `has ${v.length} entries; expected one per down block (${n})`);
  (v as number[]).forEach((x, i) => r.range(`${key}[${i}]`, x, min, max));
  return v as number[];
}

/** Parse and validate a UNet2DConditionModel `config.json` object. `file` names it in errors. */
export function parseUNetConfig(cfg: ConfigObject, file = 'config.json'): UNetConfig {
  const r = new ConfigReader(cfg, file);
  const cls = r.string('_class_name', 'UNet2DConditionModel');
  if (cls !== 'UNet2DConditionModel') unsupported('_class_name', cls);

  // Keys whose only supported value is the default (or null / absent).
  const mustBe: [string, unknown][] = [
    ['class_embed_type', null],
    ['num_class_embeds', null],
    ['addition_embed_type', null],
    ['addition_time_embed_dim', null],
    ['projection_class_embeddings_input_dim', null],
    ['encoder_hid_dim', null],
    ['encoder_hid_dim_type', null],
    ['time_cond_proj_dim', null],
    ['time_embedding_act_fn', null],
    ['timestep_post_act', null],
    ['cross_attention_norm', null],
    ['num_attention_heads', null],
    ['reverse_transformer_layers_per_block', null],
    ['dual_cross_attention', false],
    ['class_embeddings_concat', false],
    ['resnet_skip_time_act', false],
    ['resnet_time_scale_shift', 'default'],
    ['time_embedding_type', 'positional'],
    ['attention_type', 'default'],
    ['act_fn', 'silu'],
  ];
  for (const [key, ok] of mustBe) {
    const v = r.raw(key);
    if (v === undefined) continue;
    if (v !== ok) unsupported(key, v);
  }
  // only_cross_attention: false or all-false list; mid_block_only_cross_attention: null/false.
  const oca = r.raw('only_cross_attention');
  if (oca !== undefined && oca !== false && !(Array.isArray(oca) && oca.every((x) => x === false))) unsupported('only_cross_attention', oca);
  const moca = r.raw('mid_block_only_cross_attention');
  if (moca !== undefined && moca !== false) unsupported('mid_block_only_cross_attention', moca);
  // upcast_attention only changes the precision of the attention softmax in fp16; compute here is float32 always.
  r.boolean('upcast_attention', false);
  // dropout is inactive at inference; any value is accepted.
  r.number('dropout', 0);
  if (!r.has('norm_num_groups') && Object.prototype.hasOwnProperty.call(cfg, 'norm_num_groups')) {
    unsupported('norm_num_groups', null, 'a UNet without output GroupNorm');
  }

  const downBlockTypes = r.strings('down_block_types', ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D']);
  const upBlockTypes = r.strings('up_block_types', ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D']);
  downBlockTypes.forEach((t) => {
    if (!(DOWN_BLOCK_TYPES as readonly string[]).includes(t)) unsupported('down_block_types', t);
  });
  upBlockTypes.forEach((t) => {
    if (!(UP_BLOCK_TYPES as readonly string[]).includes(t)) unsupported('up_block_types', t);
  });
  const n = downBlockTypes.length;
  if (n === 0) r.fail('down_block_types', 'is empty');
  if (n > L.blocks) r.fail('down_block_types', `has ${n} blocks; at most ${L.blocks} are supported`);
  if (upBlockTypes.length !== n) r.fail('up_block_types', `has ${upBlockTypes.length} entries but 'down_block_types' has ${n}; they must match`);
  const midRaw = Object.prototype.hasOwnProperty.call(cfg, 'mid_block_type') ? cfg.mid_block_type : 'UNetMidBlock2DCrossAttn';
  if (midRaw !== null && !(MID_BLOCK_TYPES as readonly unknown[]).includes(midRaw)) unsupported('mid_block_type', midRaw);

  if (!r.has('block_out_channels')) r.fail('block_out_channels', 'is missing');
  const blockOutChannels = perBlock(r, 'block_out_channels', 0, n, 1, L.channels);
  const headsKey = 'attention_head_dim';
  const numHeads = perBlock(r, headsKey, 8, n, 1, L.heads);
  const crossAttentionDim = perBlock(r, 'cross_attention_dim', 1280, n, 1, L.channels);
  const normNumGroups = r.integer('norm_num_groups', 32, 1, L.channels);
  for (let i = 0; i < n; i++) {
    const c = blockOutChannels[i]!;
    if (c % numHeads[i]! !== 0) throw new ConfigError(`${file}: block ${i} has ${c} channels, not divisible by ${numHeads[i]} heads ('${headsKey}' is the number of heads)`);
    if (c % normNumGroups !== 0) throw new ConfigError(`${file}: block ${i} has ${c} channels, not divisible by norm_num_groups=${normNumGroups}`);
  }

  const timeEmbDim = r.has('time_embedding_dim') ? r.integer('time_embedding_dim', undefined, 1, L.intermediate) : undefined;
  const kIn = r.integer('conv_in_kernel', 3, 1, L.kernel);
  const kOut = r.integer('conv_out_kernel', 3, 1, L.kernel);
  if (kIn % 2 === 0) unsupported('conv_in_kernel', kIn, 'even kernels');
  if (kOut % 2 === 0) unsupported('conv_out_kernel', kOut, 'even kernels');
  const downsamplePadding = r.integer('downsample_padding', 1);
  if (downsamplePadding !== 0 && downsamplePadding !== 1) unsupported('downsample_padding', downsamplePadding);

  return {
    inChannels: r.integer('in_channels', 4, 1, L.channels),
    outChannels: r.integer('out_channels', 4, 1, L.channels),
    centerInputSample: r.boolean('center_input_sample', false),
    flipSinToCos: r.boolean('flip_sin_to_cos', true),
    freqShift: r.number('freq_shift', 0),
    downBlockTypes: downBlockTypes as DownBlockType[],
    upBlockTypes: upBlockTypes as UpBlockType[],
    midBlockType: midRaw as MidBlockType | null,
    blockOutChannels,
    layersPerBlock: perBlock(r, 'layers_per_block', 2, n, 1, L.layersPerBlock),
    transformerLayersPerBlock: perBlock(r, 'transformer_layers_per_block', 1, n, 0, L.layersPerBlock),
    numHeads,
    crossAttentionDim,
    downsamplePadding,
    midBlockScaleFactor: r.number('mid_block_scale_factor', 1),
    resnetOutScaleFactor: r.number('resnet_out_scale_factor', 1),
    normNumGroups,
    normEps: r.positive('norm_eps', 1e-5, 1),
    useLinearProjection: r.boolean('use_linear_projection', false),
    timeEmbedDim: timeEmbDim ?? blockOutChannels[0]! * 4,
    convInKernel: kIn,
    convOutKernel: kOut,
  };
}

/** Keys in the config that diffusers' UNet2DConditionModel does not know (ignored, as diffusers does). */
export function unknownUNetConfigKeys(cfg: ConfigObject): string[] {
  return Object.keys(cfg).filter((k) => !k.startsWith('_') && !KNOWN_KEYS.has(k));
}
