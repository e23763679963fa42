/** Finding and opening a Qwen3.5 checkpoint: local folder or hub repo id, single or sharded safetensors, key prefix. */
import * as C from '@sdxs/core';
import { parseQwen35Config, type Qwen35TextConfig } from '../config.js';

export interface Qwen35LoadOptions {
  /** Folder inside `source` (e.g. 'text_encoder'). */
  subfolder?: string;
  /** Weight storage: float32 (default) or 16-bit host storage converted per use. */
  dtype?: 'float32' | 'float16' | 'bfloat16';
  signal?: AbortSignal;
  onProgress?: (p: { loaded: number; total: number; name: string }) => void;
}

type Resolver = (source: string, opts: { subfolder?: string; checkpoints?: readonly string[]; files?: readonly string[]; optionalFiles?: readonly string[] }) => Promise<string>;

/** core's hub resolver when the build exports it (hub support is optional). */
function hubResolver(): Resolver | undefined {
  const fn = (C as unknown as Record<string, unknown>).resolveModelSource;
  return typeof fn === 'function' ? (fn as Resolver) : undefined;
}

/** A local folder for `source` (+ subfolder): local folders pass through; `owner/name` is downloaded when core's hub is available. */
export async function resolveQwenSource(source: string, subfolder: string | undefined, extraFiles: readonly string[] = []): Promise<string> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const isDir = await fs.stat(source).then((s) => s.isDirectory(), () => false);
  if (isDir) return subfolder ? path.join(source, subfolder) : source;
  const resolve = hubResolver();
  if (!resolve) throw new C.ConfigError(`model folder '${source}' does not exist (hub downloads need @sdxs/core's resolveModelSource)`);
  return resolve(source, { subfolder, files: ['config.json'], optionalFiles: extraFiles, checkpoints: ['model'] });
}

export async function readQwenConfig(dir: string): Promise<Qwen35TextConfig> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const file = path.join(dir, 'config.json');
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new C.ConfigError(`${file}: cannot read config (${(e as Error).message})`, { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new C.ConfigError(`${file}: not valid JSON (${(e as Error).message})`, { cause: e });
  }
  return parseQwen35Config(json, file);
}

/** `model.safetensors`, or every shard named by `model.safetensors.index.json`. */
export async function openQwenCheckpoint(dir: string): Promise<C.SafetensorsFile[]> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const single = path.join(dir, 'model.safetensors');
  if (await fs.stat(single).then(() => true, () => false)) return [await C.loadSafetensors(single)];
  const indexFile = path.join(dir, 'model.safetensors.index.json');
  let index: unknown;
  try {
    index = JSON.parse(await fs.readFile(indexFile, 'utf8'));
  } catch (e) {
    throw new C.CheckpointError(`${dir}: neither model.safetensors nor a readable model.safetensors.index.json (${(e as Error).message})`);
  }
  const map = (index as { weight_map?: unknown }).weight_map;
  if (typeof map !== 'object' || map === null) throw new C.CheckpointError(`${indexFile}: no weight_map`);
  const shards = [...new Set(Object.values(map as Record<string, unknown>).map(String))];
  return Promise.all(shards.map((s) => C.loadSafetensors(path.join(dir, s))));
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
