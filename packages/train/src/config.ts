import { ConfigError } from '@sdxs/core';
import { validateLoraConfig, type LoraTrainConfig } from './lora-config.js';
import type { AdamW8bitOptions } from './optim/adamw8bit.js';
import type { LrScheduleConfig } from './schedule.js';
import type { TimestepSampling } from './timesteps.js';

/** The JSON config of `train.ts` / `sdxs train` (see examples/train.sdxs-1b.json). Paths resolve against the config file. */
export interface TrainConfig {
  /** Model root (a diffusers folder with unet/, vae/, scheduler/, text_encoder/), local or a hub repo id. */
  model: string;
  /** The UNet folder to start from (default `<model>/unet`). */
  unet?: string;
  /** A dataset made by `sdxs data convert`. */
  dataset: string;
  /** Run folder: log.jsonl, loss.svg, samples/, checkpoints/step-N/, final/. */
  output: string;
  backend?: string;
  seed?: number;
  batchSize?: number;
  gradAccumulation?: number;
  /** Optimizer steps to run in total. */
  steps: number;
  optimizer?: 'adamw' | 'adamw8bit';
  optimizerOptions?: AdamW8bitOptions;
  /** LR schedule (totalSteps defaults to `steps`). */
  lr?: Partial<LrScheduleConfig>;
  clipNorm?: number | null;
  gradientCheckpointing?: boolean;
  ema?: number | null;
  /** Timestep sampling; `shift` defaults to the model's scheduler_config.json shift. */
  timesteps?: TimestepSampling;
  condDropout?: number;
  checkpointEvery?: number;
  /** Checkpoints kept (older ones deleted; default 3). */
  keepCheckpoints?: number;
  plotEvery?: number;
  /** Sample images every N steps (0 = never; needs <model>/vae). */
  sampleEvery?: number;
  /** Dataset items whose conditioning is used for samples (default: the first 2 items). */
  sampleItems?: number;
  sampleSteps?: number;
  sampleGuidance?: number;
  /** Weights dtype of saved checkpoints (float32 resumes exactly). */
  saveDtype?: 'float32' | 'float16' | 'bfloat16';
  /** Train LoRA adapters on the frozen base instead of the whole UNet (see examples/lora.sdxs-1b.json). */
  lora?: LoraTrainConfig;
}

export function validateTrainConfig(c: Partial<TrainConfig>, file = 'train.json'): TrainConfig {
  for (const k of ['model', 'dataset', 'output'] as const) {
    if (typeof c[k] !== 'string' || !c[k]) throw new ConfigError(`${file}: '${k}' (a path) is required`);
  }
  if (!(Number.isInteger(c.steps) && c.steps! > 0)) throw new ConfigError(`${file}: 'steps' must be a positive integer`);
  if (c.batchSize !== undefined && !(Number.isInteger(c.batchSize) && c.batchSize > 0)) throw new ConfigError(`${file}: 'batchSize' must be a positive integer`);
  if (c.condDropout !== undefined && !(c.condDropout >= 0 && c.condDropout < 1)) throw new ConfigError(`${file}: 'condDropout' must be in [0, 1)`);
  if (c.lora !== undefined) validateLoraConfig(c.lora, file);
  return c as TrainConfig;
}
