/**
 * The AsymmetricAutoencoderKL config, read from a diffusers `config.json`. Every architectural value
 * comes from the file; a missing or ill-typed key is a ConfigError naming it.
 */
import * as C from '@sdxs/core';

export type DownBlockType = 'DownEncoderBlock2D';
export type UpBlockType = 'UpDecoderBlock2D';

export interface AsymmetricAutoencoderKLConfig {
  inChannels: number;
  outChannels: number;
  downBlockTypes: DownBlockType[];
  downBlockOutChannels: number[];
  layersPerDownBlock: number;
  upBlockTypes: UpBlockType[];
  upBlockOutChannels: number[];
  layersPerUpBlock: number;
  actFn: 'silu';
  latentChannels: number;
  normNumGroups: number;
  /** Informational (diffusers' default sample size); never used in the forward. */
  sampleSize: number | undefined;
  scalingFactor: number;
  /** Per-channel latent statistics used by the text-to-image pipeline (absent in some checkpoints). */
  latentsMean: number[] | undefined;
  latentsStd: number[] | undefined;
}

const ACTIVATIONS = new Set(['silu', 'swish']);

const L = C.CONFIG_LIMITS;

function positive(r: C.ConfigReader, key: string, max: number): number {
  const v = r.integer(key);
  if (v <= 0) r.fail(key, `must be a positive integer, got ${v}`);
  return r.range(key, v, 1, max);
}

function positiveArray(r: C.ConfigReader, key: string): number[] {
  const arr = r.integers(key);
  if (arr.length === 0) r.fail(key, 'must not be empty');
  if (arr.length > L.blocks) r.fail(key, `has ${arr.length} blocks; at most ${L.blocks} are supported`);
  if (arr.some((v) => v <= 0)) r.fail(key, `must hold positive integers, got [${arr.slice(0, 16).join(', ')}]`);
  arr.forEach((v, i) => r.range(`${key}[${i}]`, v, 1, L.channels));
  return arr;
}

function blockTypes<T extends string>(r: C.ConfigReader, key: string, allowed: T, count: number, countKey: string): T[] {
  const types = r.strings(key);
  types.forEach((t, i) => {
    if (t !== allowed) throw new C.ConfigError(`${r.file}: key '${r.name(key)}'[${i}] is '${t}'; the AsymmetricAutoencoderKL supports only '${allowed}'`);
  });
  if (types.length !== count) r.fail(key, `has ${types.length} entries but '${countKey}' has ${count}; they must match`);
  return types as T[];
}

function optionalStats(r: C.ConfigReader, key: string, latent: number): number[] | undefined {
  if (!r.has(key)) return undefined;
  const arr = r.numbers(key, undefined, latent);
  if (key === 'latents_std' && arr.some((v) => !(v > 0))) r.fail(key, 'must hold positive numbers');
  return arr;
}

/** Validates a parsed config.json object; `file` names it in errors. */
export function parseVaeConfig(cfg: C.ConfigObject, file = 'config.json'): AsymmetricAutoencoderKLConfig {
  const r: C.ConfigReader = C.ConfigReader.of(cfg, file);
  const cls = r.raw('_class_name');
  if (cls !== undefined && cls !== 'AsymmetricAutoencoderKL') r.fail('_class_name', `is ${JSON.stringify(cls)}; expected 'AsymmetricAutoencoderKL'`);
  const down = positiveArray(r, 'down_block_out_channels');
  const up = positiveArray(r, 'up_block_out_channels');
  const groups = positive(r, 'norm_num_groups', L.channels);
  for (const [key, arr] of [['down_block_out_channels', down], ['up_block_out_channels', up]] as const) {
    const bad = arr.find((c) => c % groups !== 0);
    if (bad !== undefined) r.fail(key, `has ${bad} channels, not divisible by norm_num_groups ${groups}`);
  }
  const act = r.string('act_fn');
  if (!ACTIVATIONS.has(act)) r.fail('act_fn', `is '${act}'; only 'silu' is supported`);
  const latent = positive(r, 'latent_channels', L.channels);
  const sample = r.raw('sample_size');
  return {
    inChannels: positive(r, 'in_channels', L.channels),
    outChannels: positive(r, 'out_channels', L.channels),
    downBlockTypes: blockTypes(r, 'down_block_types', 'DownEncoderBlock2D', down.length, 'down_block_out_channels'),
    downBlockOutChannels: down,
    layersPerDownBlock: positive(r, 'layers_per_down_block', L.layersPerBlock),
    upBlockTypes: blockTypes(r, 'up_block_types', 'UpDecoderBlock2D', up.length, 'up_block_out_channels'),
    upBlockOutChannels: up,
    layersPerUpBlock: positive(r, 'layers_per_up_block', L.layersPerBlock),
    actFn: 'silu',
    latentChannels: latent,
    normNumGroups: groups,
    sampleSize: typeof sample === 'number' ? sample : undefined,
    scalingFactor: r.positive('scaling_factor'),
    latentsMean: optionalStats(r, 'latents_mean', latent),
    latentsStd: optionalStats(r, 'latents_std', latent),
  };
}

/** Spatial factor of encode (image → latent): 2^(number of down blocks − 1). */
export const encoderScale = (c: AsymmetricAutoencoderKLConfig): number => 2 ** (c.downBlockOutChannels.length - 1);
/** Spatial factor of decode (latent → image): 2^(number of up blocks − 1). */
export const decoderScale = (c: AsymmetricAutoencoderKLConfig): number => 2 ** (c.upBlockOutChannels.length - 1);
