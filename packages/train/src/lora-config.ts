import * as C from '@sdxs/core';

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

const KEYS = new Set(['rank', 'alpha', 'targets', 'dropout', 'format', 'initFrom', 'baseDtype']);

/** Checks `lora` of a training config; every problem is a ConfigError naming the key. */
export function validateLoraConfig(v: unknown, file: string): LoraTrainConfig {
  const bad = (msg: string): never => {
    throw new C.ConfigError(`${file}: 'lora.${msg}`);
  };
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new C.ConfigError(`${file}: 'lora' must be an object such as { "rank": 16 }`);
  const l = v as Record<string, unknown>;
  for (const k of Object.keys(l)) if (!KEYS.has(k) && !k.startsWith('//')) bad(`${C.clip(k, 80)}' is not a LoRA option (known: ${[...KEYS].join(', ')})`);
  if (!(Number.isInteger(l.rank) && (l.rank as number) >= 1 && (l.rank as number) <= MAX_LORA_RANK)) bad(`rank' must be an integer from 1 to ${MAX_LORA_RANK}, got ${C.previewValue(l.rank)}`);
  if (l.alpha !== undefined && !(typeof l.alpha === 'number' && Number.isFinite(l.alpha) && l.alpha > 0)) bad(`alpha' must be a positive number`);
  if (l.dropout !== undefined && !(typeof l.dropout === 'number' && l.dropout >= 0 && l.dropout < 1)) bad(`dropout' must be in [0, 1)`);
  if (l.targets !== undefined && !(Array.isArray(l.targets) && l.targets.length > 0 && l.targets.every((t) => typeof t === 'string' && t.length > 0))) {
    bad(`targets' must be a non-empty list of module paths (e.g. "attn1.to_q")`);
  }
  if (l.format !== undefined && !['peft', 'kohya', 'both'].includes(l.format as string)) bad(`format' must be 'peft', 'kohya' or 'both'`);
  if (l.initFrom !== undefined && !(typeof l.initFrom === 'string' && l.initFrom)) bad(`initFrom' must be a LoRA file, folder or repo id`);
  if (l.baseDtype !== undefined && !['source', 'half', 'float32'].includes(l.baseDtype as string)) bad(`baseDtype' must be 'source', 'half' or 'float32'`);
  return l as unknown as LoraTrainConfig;
}
