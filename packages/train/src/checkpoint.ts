/**
 * Training checkpoints. A checkpoint folder holds
 * - `unet/` in the diffusers layout (`config.json` + `diffusion_pytorch_model.safetensors`, metadata
 *   `format: pt`), loadable by diffusers' `UNet2DConditionModel.from_pretrained` and by ours;
 * - `unet_ema/` the same for the EMA weights, when EMA is on;
 * - for LoRA runs, instead of those: `lora/pytorch_lora_weights.safetensors` (the adapter, float32, PEFT
 *   names with the `unet.` prefix; the frozen base is not copied) and `lora_ema/` when EMA is on;
 * - `optimizer.safetensors`: the optimizer's moments (8-bit codes + scales for AdamW8bit);
 * - `trainer_state.json`: optimizer step, generator state, data position.
 * It is written into `<dir>.partial` and renamed, so a kill never leaves a half-written checkpoint.
 */
import * as C from '@sdxs/core';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { LORA_PEFT_FILE, loadLoraState, readLoraState, saveLoraFiles } from './lora-adapters.js';
import { readParameter } from './optim/optimizer.js';
import type { BatchSource, Trainer, TrainerState } from './trainer.js';

export type SaveDType = 'float32' | 'float16' | 'bfloat16';

/** Writes a module in the diffusers layout: `config.json` and `diffusion_pytorch_model.safetensors`. */
export async function saveDiffusersModel(
  dir: string,
  model: C.Module,
  config: C.ConfigObject,
  opts: { dtype?: SaveDType; className?: string; weights?: Map<string, Float32Array> } = {},
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const tensors: C.SafetensorsTensorMap = {};
  const dtype = opts.dtype ?? 'float32';
  for (const [name, p] of model.namedParameters()) {
    if (!p.isSet) continue;
    const w = opts.weights?.get(name) ?? (await readParameter(p));
    if (dtype === 'float32') tensors[name] = { dtype: 'F32', shape: p.shape, data: w };
    else if (dtype === 'float16') tensors[name] = { dtype: 'F16', shape: p.shape, data: C.f32ToF16(w) };
    else tensors[name] = { dtype: 'BF16', shape: p.shape, data: C.f32ToBf16(w) };
  }
  const cfg: Record<string, unknown> = { _class_name: opts.className ?? 'UNet2DConditionModel', ...config };
  await writeFile(path.join(dir, 'config.json'), `${JSON.stringify(cfg, null, 2)}\n`);
  await C.saveSafetensors(path.join(dir, 'diffusion_pytorch_model.safetensors'), tensors, { format: 'pt' });
}

export interface SaveCheckpointOptions {
  /** The model's diffusers config.json object (written beside the weights). */
  modelConfig: C.ConfigObject;
  source?: BatchSource | null;
  /** Weights dtype in the saved model folder (default float32: exact resume needs it). */
  dtype?: SaveDType;
  /** Extra JSON stored in trainer_state.json (config, run id...). */
  extra?: Record<string, unknown>;
  /** The trainer trains LoRA adapters (`lora/` instead of `unet/`). */
  lora?: boolean;
}

export async function saveTrainingCheckpoint(dir: string, trainer: Trainer, opts: SaveCheckpointOptions): Promise<void> {
  const tmp = `${dir}.partial`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  if (opts.lora) {
    await saveLoraFiles(path.join(tmp, 'lora'), trainer.model, 'peft');
    if (trainer.ema) await saveLoraFiles(path.join(tmp, 'lora_ema'), trainer.model, 'peft', trainer.ema.shadow);
  } else {
    await saveDiffusersModel(path.join(tmp, 'unet'), trainer.model, opts.modelConfig, { dtype: opts.dtype });
    if (trainer.ema) {
      await saveDiffusersModel(path.join(tmp, 'unet_ema'), trainer.model, opts.modelConfig, { dtype: opts.dtype, weights: trainer.ema.shadow });
    }
  }
  const sd = trainer.optimizer.stateDict();
  await C.saveSafetensors(path.join(tmp, 'optimizer.safetensors'), sd.tensors, sd.metadata);
  const state: TrainerState & { extra?: Record<string, unknown> } = { ...trainer.state(opts.source ?? null), extra: opts.extra };
  await writeFile(path.join(tmp, 'trainer_state.json'), `${JSON.stringify(state, null, 2)}\n`);
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
}

async function readAll(file: string): Promise<{ tensors: Map<string, C.SafetensorsTypedArray>; metadata: Record<string, string> }> {
  const f = await C.loadSafetensors(file);
  try {
    const tensors = new Map<string, C.SafetensorsTypedArray>();
    for (const n of f.names()) tensors.set(n, await f.readTyped(n));
    return { tensors, metadata: f.metadata };
  } finally {
    await f.close();
  }
}

/**
 * Restores a trainer (weights or LoRA adapters, optimizer, EMA, generator) and the data source's position
 * from a checkpoint folder. The trainer must have been created with the same options.
 */
export async function loadTrainingCheckpoint(dir: string, trainer: Trainer, source: BatchSource | null, opts: { lora?: boolean } = {}): Promise<TrainerState> {
  const loraFile = path.join(dir, 'lora', LORA_PEFT_FILE);
  if (existsSync(loraFile) !== (opts.lora ?? false)) {
    throw new C.CheckpointError(`${dir} holds ${existsSync(loraFile) ? 'a LoRA adapter' : 'a full UNet'} but this run trains ${opts.lora ? 'LoRA' : 'the full UNet'}; use another output folder or --no-resume`);
  }
  if (opts.lora) await loadLoraState(loraFile, trainer.params);
  else {
    const file = await C.loadSafetensors(path.join(dir, 'unet', 'diffusion_pytorch_model.safetensors'));
    try {
      await C.loadWeights(trainer.model, file, { strict: true, dtype: 'float32' });
    } finally {
      await file.close();
    }
  }
  const opt = await readAll(path.join(dir, 'optimizer.safetensors'));
  trainer.optimizer.loadStateDict(opt.tensors, opt.metadata);
  if (trainer.ema && opts.lora) {
    const emaFile = path.join(dir, 'lora_ema', LORA_PEFT_FILE);
    if (!existsSync(emaFile)) throw new C.CheckpointError(`${dir} has no lora_ema/ but this run uses EMA`);
    trainer.ema.load(await readLoraState(emaFile, trainer.params));
  } else if (trainer.ema) {
    const emaFile = path.join(dir, 'unet_ema', 'diffusion_pytorch_model.safetensors');
    if (!existsSync(emaFile)) throw new C.CheckpointError(`${dir} has no unet_ema/ but this run uses EMA`);
    trainer.ema.load((await readAll(emaFile)).tensors);
  }
  const state = JSON.parse(await readFile(path.join(dir, 'trainer_state.json'), 'utf8')) as TrainerState;
  trainer.restore(state, source);
  return state;
}

/** The newest `step-*` checkpoint folder under `root`, or null. */
export async function latestCheckpoint(root: string): Promise<string | null> {
  if (!existsSync(root)) return null;
  const { readdir } = await import('node:fs/promises');
  const steps = (await readdir(root)).filter((d) => /^step-\d+$/.test(d) && existsSync(path.join(root, d, 'trainer_state.json'))).sort();
  return steps.length ? path.join(root, steps[steps.length - 1]!) : null;
}
