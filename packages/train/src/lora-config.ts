import * as C from '@sdxs/core';
import { checkChoice, checkInteger, checkKnownKeys, checkNumber, checkString } from './config-check.js';

/**
 * The UNet projections LoRA trains by default: in every transformer block, self- and cross-attention's
 * q/k/v/out and the feed-forward's GEGLU input and output (as diffusers' train_text_to_image_lora targets
 * the attention, plus the feed-forward).
 */
export const DEFAULT_LORA_TARGETS: readonly string[] = [
  'attn1.to_q',
  'attn1.to_k',
  'attn1.to_v',
  'attn1.to_out.0',
  'attn2.to_q',
  'attn2.to_k',
  'attn2.to_v',
  'attn2.to_out.0',
  'ff.net.0.proj',
  'ff.net.2',
];

/** Rank of `sdxs train --lora` without `--lora-rank`. */
export const DEFAULT_LORA_RANK = 16;
export const MAX_LORA_RANK = 1024;

/** `lora` in the training config: train low-rank adapters on a frozen base instead of the whole UNet. */
export interface LoraTrainConfig {
  rank: number;
  /** scale = alpha / rank (default alpha = rank). */
  alpha?: number;
  /** Module paths or their endings (default DEFAULT_LORA_TARGETS). */
  targets?: string[];
  /** Dropout on the adapters' input while training (PEFT lora_dropout; default 0). */
  dropout?: number;
  /** Files written to final/: 'peft' (default, pytorch_lora_weights.safetensors), 'kohya' (lora_kohya.safetensors) or 'both'. */
  format?: 'peft' | 'kohya' | 'both';
  /** A LoRA file, folder or repo (PEFT or kohya, same rank and targets) to start from instead of fresh adapters. */
  initFrom?: string;
  /**
   * How the frozen base UNet is kept: 'source' (default: the checkpoint's own precision, a 16-bit model stays
   * 16-bit), 'half' (16-bit even from a float32 checkpoint), or 'float32'.
   */
  baseDtype?: 'source' | 'half' | 'float32';
}

const KEYS: ReadonlySet<string> = new Set(['rank', 'alpha', 'targets', 'dropout', 'format', 'initFrom', 'baseDtype']);

/** Checks `lora` of a training config; every problem is a ConfigError naming the key. */
export function validateLoraConfig(v: unknown, file: string): LoraTrainConfig {
  const bad = (msg: string): never => {
    throw new C.ConfigError(`${file}: 'lora.${msg}`);
  };
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new C.ConfigError(`${file}: 'lora' must be an object such as { "rank": 16 }`);
  const l = v as Record<string, unknown>;
  checkKnownKeys(file, l, KEYS, 'lora');
  checkInteger(file, 'lora.rank', l.rank, 1, MAX_LORA_RANK);
  if (l.alpha !== undefined) checkNumber(file, 'lora.alpha', l.alpha, 0, 1e6, { min: true });
  if (l.dropout !== undefined) checkNumber(file, 'lora.dropout', l.dropout, 0, 1, { max: true });
  if (l.targets !== undefined && !(Array.isArray(l.targets) && l.targets.length > 0 && l.targets.every((t) => typeof t === 'string' && t.length > 0))) {
    bad(`targets' must be a non-empty list of module paths (e.g. "attn1.to_q"), got ${C.previewValue(l.targets)}`);
  }
  if (l.format !== undefined) checkChoice(file, 'lora.format', l.format, ['peft', 'kohya', 'both'] as const);
  if (l.initFrom !== undefined) checkString(file, 'lora.initFrom', l.initFrom, 'a LoRA file, folder or repo id');
  if (l.baseDtype !== undefined) checkChoice(file, 'lora.baseDtype', l.baseDtype, ['source', 'half', 'float32'] as const);
  return l as unknown as LoraTrainConfig;
}
