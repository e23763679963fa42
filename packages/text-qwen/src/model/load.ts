/** Finding and opening a Qwen3.5 checkpoint: local folder or hub repo id, single or sharded safetensors, key prefix. */
import * as C from '@sdxs/core';
import { parseQwen35Config, type Qwen35TextConfig } from '../config.js';

export interface Qwen35LoadOptions {
  /** Folder inside `source` (e.g. 'text_encoder'). */
  subfolder?: string;
  /** Weight storage: float32 (default) or 16-bit host storage converted per use. */
  dtype?: C.WeightDType;
  signal?: AbortSignal;
  onProgress?: (p: { loaded: number; total: number; name: string }) => void;
}

/** A local folder for `source` (+ subfolder): local folders pass through; a hub repo id `owner/name` is downloaded. */
export function resolveQwenSource(source: string, options: Qwen35LoadOptions, optionalFiles: readonly string[] = []): Promise<string> {
  return C.resolveModelSource(source, { subfolder: options.subfolder, files: ['config.json'], optionalFiles, checkpoints: ['model'], signal: options.signal });
}

export async function readQwenConfig(dir: string): Promise<Qwen35TextConfig> {
  return parseQwen35Config(await C.loadConfig(dir), `${dir}/config.json`);
}

/** `model.safetensors`, or the shards named by `model.safetensors.index.json`. */
export async function openQwenCheckpoint(dir: string): Promise<C.SafetensorsFile[]> {
  return [await C.openCheckpoint(dir, 'model')];
}

/** Key prefix of the text tower: 'model.language_model.' (VLM checkpoint) or 'model.' (causal-LM checkpoint). */
export function textPrefix(files: readonly C.SafetensorsFile[]): string {
  for (const p of ['model.language_model.', 'model.', '']) if (files.some((f) => f.has(`${p}embed_tokens.weight`))) return p;
  throw new C.CheckpointError(`${files.map((f) => f.file).join(', ')}: no embed_tokens.weight under 'model.language_model.' or 'model.'`);
}

/** Tensors of a released checkpoint that the text model never reads (vision tower, MTP head). */
export const isNonTextKey = (key: string): boolean => key.startsWith('model.visual.') || key.startsWith('mtp.') || key.startsWith('model.mtp.');

export async function closeAll(files: readonly C.SafetensorsFile[]): Promise<void> {
  await Promise.all(files.map((f) => f.close()));
}

/**
 * Opens `dir`'s checkpoint, runs `load` on it and closes it; a load that fails disposes `model` first. Returns
 * `model`: the one shape of every `fromPretrained` (text tower, causal LM, vision tower, both).
 */
export async function loadCheckpointInto<M extends { dispose(): void }>(dir: string, model: M, load: (files: readonly C.SafetensorsFile[]) => Promise<unknown>): Promise<M> {
  const files = await openQwenCheckpoint(dir);
  try {
    await load(files);
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    await closeAll(files);
  }
  return model;
}
