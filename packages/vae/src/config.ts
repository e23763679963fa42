/**
 * The AsymmetricAutoencoderKL config, read from a diffusers `config.json`. Every architectural value
 * comes from the file; a missing or ill-typed key is a ConfigError naming it.
 */
import * as C from '@sdxs/core';

export type DownBlockType = 'DownEncoderBlock2D';
export type UpBlockType = 'UpDecoderBlock2D';

export interface AsymmetricAutoencoderKLConfig {
  in_channels: number;
  out_channels: number;
  down_block_types: DownBlockType[];
  down_block_out_channels: number[];
  layers_per_down_block: number;
  up_block_types: UpBlockType[];
  up_block_out_channels: number[];
  layers_per_up_block: number;
  act_fn: 'silu';
  latent_channels: number;
  norm_num_groups: number;
  /** Informational (diffusers' default sample size); never used in the forward. */
  sample_size: number | undefined;
  scaling_factor: number;
  /** Per-channel latent statistics used by the text-to-image pipeline (absent in some checkpoints). */
  latents_mean: number[] | undefined;
  latents_std: number[] | undefined;
}

const ACTIVATIONS = new Set(['silu', 'swish']);

const L = C.CONFIG_LIMITS;

function positive(cfg: C.ConfigObject, key: string, file: string, max: number): number {
  const v = C.configInteger(cfg, key, file);
  if (v <= 0) throw new C.ConfigError(`${file}: key '${key}' must be a positive integer, got ${v}`);
  return C.checkConfigRange(file, key, v, 1, max);
}

function positiveArray(cfg: C.ConfigObject, key: string, file: string): number[] {
  const arr = C.configIntegerArray(cfg, key, file);
  if (arr.length === 0) throw new C.ConfigError(`${file}: key '${key}' must not be empty`);
  if (arr.length > L.blocks) throw new C.ConfigError(`${file}: key '${key}' has ${arr.length} blocks; at most ${L.blocks} are supported`);
  if (arr.some((v) => v <= 0)) throw new C.ConfigError(`${file}: key '${key}' must hold positive integers, got [${arr.slice(0, 16).join(', ')}]`);
  arr.forEach((v, i) => C.checkConfigRange(file, `${key}[${i}]`, v, 1, L.channels));
  return arr;
}

function blockTypes<T extends string>(cfg: C.ConfigObject, key: string, file: string, allowed: T, count: number, countKey: string): T[] {
  const types = C.configStringArray(cfg, key, file);
  types.forEach((t, i) => {
    if (t !== allowed) throw new C.ConfigError(`${file}: key '${key}'[${i}] is '${t}'; the AsymmetricAutoencoderKL supports only '${allowed}'`);
  });
  if (types.length !== count) {
    throw new C.ConfigError(`${file}: key '${key}' has ${types.length} entries but '${countKey}' has ${count}; they must match`);
  }
  return types as T[];
}

function optionalStats(cfg: C.ConfigObject, key: string, file: string, latent: number): number[] | undefined {
  if (C.configOptional(cfg, key) === undefined) return undefined;
  const arr = C.configNumberArray(cfg, key, file, undefined, latent);
  if (key === 'latents_std' && arr.some((v) => !(v > 0))) throw new C.ConfigError(`${file}: key '${key}' must hold positive numbers`);
  return arr;
}

/** Validates a parsed config object; `file` names it in errors. */
export function parseVaeConfig(cfg: C.ConfigObject, file = 'config.json'): AsymmetricAutoencoderKLConfig {
  const cls = C.configOptional(cfg, '_class_name');
  if (cls !== undefined && cls !== 'AsymmetricAutoencoderKL') {
    throw new C.ConfigError(`${file}: key '_class_name' is ${JSON.stringify(cls)}; expected 'AsymmetricAutoencoderKL'`);
  }
  const down = positiveArray(cfg, 'down_block_out_channels', file);
  const up = positiveArray(cfg, 'up_block_out_channels', file);
  const groups = positive(cfg, 'norm_num_groups', file, L.channels);
  for (const [key, arr] of [['down_block_out_channels', down], ['up_block_out_channels', up]] as const) {
    const bad = arr.find((c) => c % groups !== 0);
    if (bad !== undefined) throw new C.ConfigError(`${file}: key '${key}' has ${bad} channels, not divisible by norm_num_groups ${groups}`);
  }
  const act = C.configString(cfg, 'act_fn', file);
  if (!ACTIVATIONS.has(act)) throw new C.ConfigError(`${file}: key 'act_fn' is '${act}'; only 'silu' is supported`);
  const latent = positive(cfg, 'latent_channels', file, L.channels);
  const sample = C.configOptional(cfg, 'sample_size');
  return {
    in_channels: positive(cfg, 'in_channels', file, L.channels),
    out_channels: positive(cfg, 'out_channels', file, L.channels),
    down_block_types: blockTypes(cfg, 'down_block_types', file, 'DownEncoderBlock2D', down.length, 'down_block_out_channels'),
    down_block_out_channels: down,
    layers_per_down_block: positive(cfg, 'layers_per_down_block', file, L.layersPerBlock),
    up_block_types: blockTypes(cfg, 'up_block_types', file, 'UpDecoderBlock2D', up.length, 'up_block_out_channels'),
    up_block_out_channels: up,
    layers_per_up_block: positive(cfg, 'layers_per_up_block', file, L.layersPerBlock),
    act_fn: 'silu',
    latent_channels: latent,
    norm_num_groups: groups,
    sample_size: typeof sample === 'number' ? sample : undefined,
    scaling_factor: C.checkConfigPositive(file, 'scaling_factor', C.configNumber(cfg, 'scaling_factor', file)),
    latents_mean: optionalStats(cfg, 'latents_mean', file, latent),
    latents_std: optionalStats(cfg, 'latents_std', file, latent),
  };
}

/** Spatial factor of encode (image → latent): 2^(number of down blocks − 1). */
export const encoderScale = (c: AsymmetricAutoencoderKLConfig): number => 2 ** (c.down_block_out_channels.length - 1);
/** Spatial factor of decode (latent → image): 2^(number of up blocks − 1). */
export const decoderScale = (c: AsymmetricAutoencoderKLConfig): number => 2 ** (c.up_block_out_channels.length - 1);
