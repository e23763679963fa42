import { ConfigError } from '@sdxs/core';
import { checkBoolean, checkChoice, checkInteger, checkKnownKeys, checkNumber, checkObject, checkString, configProblem, type ConfigRecord } from './config-check.js';
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
  /** EMA decay in (0, 1), or null for none (the file may also write `{ "decay": d }`; validation gives the number). */
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

/** Upper bounds far above any real run: a value beyond them is a typo (1e12 steps) that would run for ever or exhaust memory. */
export const TRAIN_LIMITS = Object.freeze({
  steps: 10_000_000,
  batchSize: 4096,
  gradAccumulation: 65_536,
  /** seeds are 32-bit (the generator's state is seeded from the low 32 bits) */
  seed: 2 ** 32 - 1,
  keepCheckpoints: 10_000,
  sampleItems: 64,
  sampleSteps: 1000,
  /** learning rates above 1 only diverge with Adam */
  lr: 1,
  stageMultiplier: 1000,
});

const TOP_KEYS: ReadonlySet<string> = new Set([
  'model', 'unet', 'dataset', 'output', 'backend', 'seed', 'batchSize', 'gradAccumulation', 'steps', 'optimizer',
  'optimizerOptions', 'lr', 'clipNorm', 'gradientCheckpointing', 'ema', 'timesteps', 'condDropout', 'checkpointEvery',
  'keepCheckpoints', 'plotEvery', 'sampleEvery', 'sampleItems', 'sampleSteps', 'sampleGuidance', 'saveDtype', 'lora',
]);
const ADAM_KEYS = ['betas', 'eps', 'weightDecay'];
const ADAM8_KEYS = ['blockSize', 'quantMap', 'min8bitSize'];
const LR_KEYS: ReadonlySet<string> = new Set(['baseLr', 'minLr', 'warmupSteps', 'totalSteps', 'decay', 'stageMultipliers', 'stageStarts']);
const TIMESTEP_KEYS: ReadonlySet<string> = new Set(['kind', 'mean', 'std', 'shift']);
const EMA_KEYS: ReadonlySet<string> = new Set(['decay']);

const has = (o: ConfigRecord, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k) && o[k] !== undefined;

/**
 * Checks every field of a training config up front, before any file is read or any work is done: unknown
 * keys (a typo, or a value no code reads) name the key; each value must have its type and lie in its
 * range (see TRAIN_LIMITS); strings are never read as numbers. `ema` may be a decay number or
 * `{ "decay": d }` and comes back as the number. Returns the config; throws a ConfigError naming `file`.
 */
export function validateTrainConfig(input: unknown, file = 'train.json'): TrainConfig {
  const c = checkObject(file, 'config', input, '{ "model": …, "dataset": …, "output": …, "steps": … }');
  checkKnownKeys(file, c, TOP_KEYS);
  for (const k of ['model', 'dataset', 'output'] as const) {
    if (!has(c, k)) throw new ConfigError(`${file}: '${k}' (a path) is required`);
    checkString(file, k, c[k], 'a path (a non-empty string)');
  }
  if (has(c, 'unet')) checkString(file, 'unet', c.unet, 'a path (a non-empty string)');
  if (has(c, 'backend')) checkString(file, 'backend', c.backend, 'a backend name (a non-empty string)');
  if (!has(c, 'steps')) throw new ConfigError(`${file}: 'steps' (optimizer steps in total) is required`);
  const steps = checkInteger(file, 'steps', c.steps, 1, TRAIN_LIMITS.steps);
  if (has(c, 'seed')) checkInteger(file, 'seed', c.seed, 0, TRAIN_LIMITS.seed);
  if (has(c, 'batchSize')) checkInteger(file, 'batchSize', c.batchSize, 1, TRAIN_LIMITS.batchSize);
  if (has(c, 'gradAccumulation')) checkInteger(file, 'gradAccumulation', c.gradAccumulation, 1, TRAIN_LIMITS.gradAccumulation);
  const optimizer = has(c, 'optimizer') ? checkChoice(file, 'optimizer', c.optimizer, ['adamw', 'adamw8bit'] as const) : 'adamw8bit';
  if (has(c, 'optimizerOptions')) checkOptimizerOptions(file, c.optimizerOptions, optimizer);
  if (has(c, 'lr')) checkLr(file, c.lr, steps);
  if (has(c, 'clipNorm') && c.clipNorm !== null) checkNumber(file, 'clipNorm', c.clipNorm, 0, Number.MAX_VALUE, { min: true });
  if (has(c, 'gradientCheckpointing')) checkBoolean(file, 'gradientCheckpointing', c.gradientCheckpointing);
  let ema: number | null | undefined;
  if (has(c, 'ema')) ema = checkEma(file, c.ema);
  if (has(c, 'timesteps')) checkTimesteps(file, c.timesteps);
  if (has(c, 'condDropout')) checkNumber(file, 'condDropout', c.condDropout, 0, 1, { max: true });
  if (has(c, 'checkpointEvery')) checkInteger(file, 'checkpointEvery', c.checkpointEvery, 1, TRAIN_LIMITS.steps);
  if (has(c, 'keepCheckpoints')) checkInteger(file, 'keepCheckpoints', c.keepCheckpoints, 1, TRAIN_LIMITS.keepCheckpoints);
  if (has(c, 'plotEvery')) checkInteger(file, 'plotEvery', c.plotEvery, 1, TRAIN_LIMITS.steps);
  if (has(c, 'sampleEvery')) checkInteger(file, 'sampleEvery', c.sampleEvery, 0, TRAIN_LIMITS.steps);
  if (has(c, 'sampleItems')) checkInteger(file, 'sampleItems', c.sampleItems, 1, TRAIN_LIMITS.sampleItems);
  if (has(c, 'sampleSteps')) checkInteger(file, 'sampleSteps', c.sampleSteps, 1, TRAIN_LIMITS.sampleSteps);
  if (has(c, 'sampleGuidance')) checkNumber(file, 'sampleGuidance', c.sampleGuidance, 0, 100);
  if (has(c, 'saveDtype')) checkChoice(file, 'saveDtype', c.saveDtype, ['float32', 'float16', 'bfloat16'] as const);
  if (has(c, 'lora')) validateLoraConfig(c.lora, file);
  const out = { ...c } as unknown as TrainConfig;
  if (ema !== undefined) out.ema = ema;
  return out;
}

function checkOptimizerOptions(file: string, v: unknown, optimizer: 'adamw' | 'adamw8bit'): void {
  const o = checkObject(file, 'optimizerOptions', v, '{ "betas": [0.9, 0.999], "weightDecay": 0.01 }');
  const known = new Set(optimizer === 'adamw8bit' ? [...ADAM_KEYS, ...ADAM8_KEYS] : ADAM_KEYS);
  for (const k of Object.keys(o)) {
    if (optimizer === 'adamw' && ADAM8_KEYS.includes(k)) throw new ConfigError(`${file}: 'optimizerOptions.${k}' applies to optimizer 'adamw8bit' only (this config trains with 'adamw')`);
  }
  checkKnownKeys(file, o, known, 'optimizerOptions');
  if (has(o, 'betas')) {
    const b = o.betas;
    if (!Array.isArray(b) || b.length !== 2) configProblem(file, 'optimizerOptions.betas', 'two numbers [beta1, beta2] in [0, 1)', b);
    (b as unknown[]).forEach((x, i) => checkNumber(file, `optimizerOptions.betas[${i}]`, x, 0, 1, { max: true }));
  }
  if (has(o, 'eps')) checkNumber(file, 'optimizerOptions.eps', o.eps, 0, 1, { min: true });
  if (has(o, 'weightDecay')) checkNumber(file, 'optimizerOptions.weightDecay', o.weightDecay, 0, 1);
  if (has(o, 'blockSize') && o.blockSize !== 256 && o.blockSize !== 2048) configProblem(file, 'optimizerOptions.blockSize', '256 or 2048', o.blockSize);
  if (has(o, 'quantMap')) checkChoice(file, 'optimizerOptions.quantMap', o.quantMap, ['dynamic', 'linear'] as const);
  if (has(o, 'min8bitSize')) checkInteger(file, 'optimizerOptions.min8bitSize', o.min8bitSize, 0, 2 ** 31 - 1);
}

function checkLr(file: string, v: unknown, steps: number): void {
  const o = checkObject(file, 'lr', v, '{ "baseLr": 1e-4, "warmupSteps": 50, "decay": "cosine" }');
  checkKnownKeys(file, o, LR_KEYS, 'lr');
  const base = has(o, 'baseLr') ? checkNumber(file, 'lr.baseLr', o.baseLr, 0, TRAIN_LIMITS.lr, { min: true }) : 4e-5;
  if (has(o, 'minLr')) {
    const min = checkNumber(file, 'lr.minLr', o.minLr, 0, TRAIN_LIMITS.lr);
    if (min > base) throw new ConfigError(`${file}: 'lr.minLr' (${min}) exceeds 'lr.baseLr' (${base})`);
  }
  if (has(o, 'warmupSteps')) checkInteger(file, 'lr.warmupSteps', o.warmupSteps, 0, TRAIN_LIMITS.steps);
  const total = has(o, 'totalSteps') ? checkInteger(file, 'lr.totalSteps', o.totalSteps, 1, TRAIN_LIMITS.steps) : steps;
  if (has(o, 'decay')) checkChoice(file, 'lr.decay', o.decay, ['cosine', 'linear', 'constant'] as const);
  let stages = 1;
  if (has(o, 'stageMultipliers')) {
    const m = o.stageMultipliers;
    if (!Array.isArray(m) || m.length === 0 || m.length > 1000) configProblem(file, 'lr.stageMultipliers', 'a list of 1 to 1000 numbers', m);
    (m as unknown[]).forEach((x, i) => checkNumber(file, `lr.stageMultipliers[${i}]`, x, 0, TRAIN_LIMITS.stageMultiplier));
    stages = (m as unknown[]).length;
  }
  if (has(o, 'stageStarts')) {
    const s = o.stageStarts;
    if (!Array.isArray(s) || s.length !== stages) configProblem(file, 'lr.stageStarts', `a list of ${stages} step numbers (one per stage multiplier)`, s);
    (s as unknown[]).forEach((x, i) => checkInteger(file, `lr.stageStarts[${i}]`, x, 0, total - 1));
    const a = s as number[];
    if (a[0] !== 0 || a.some((x, i) => i > 0 && x <= a[i - 1]!)) configProblem(file, 'lr.stageStarts', 'ascending step numbers starting at 0', s);
  }
}

function checkEma(file: string, v: unknown): number | null {
  if (v === null) return null;
  const what = 'a decay in (0, 1) such as 0.9999, { "decay": 0.9999 }, or null for none';
  if (typeof v === 'object' && !Array.isArray(v)) {
    const o = v as ConfigRecord;
    checkKnownKeys(file, o, EMA_KEYS, 'ema');
    if (!has(o, 'decay')) configProblem(file, 'ema.decay', 'given when ema is an object', undefined);
    return checkNumber(file, 'ema.decay', o.decay, 0, 1, { min: true, max: true });
  }
  if (typeof v !== 'number') configProblem(file, 'ema', what, v);
  return checkNumber(file, 'ema', v, 0, 1, { min: true, max: true });
}

function checkTimesteps(file: string, v: unknown): void {
  const o = checkObject(file, 'timesteps', v, '{ "kind": "logit-normal", "mean": 0, "std": 1 }');
  checkKnownKeys(file, o, TIMESTEP_KEYS, 'timesteps');
  if (has(o, 'kind')) checkChoice(file, 'timesteps.kind', o.kind, ['uniform', 'logit-normal'] as const);
  if (has(o, 'mean')) checkNumber(file, 'timesteps.mean', o.mean, -20, 20);
  if (has(o, 'std')) checkNumber(file, 'timesteps.std', o.std, 0, 20, { min: true });
  if (has(o, 'shift')) checkNumber(file, 'timesteps.shift', o.shift, 0, 1000, { min: true });
}
