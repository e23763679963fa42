/**
 * LoRA training on the UNet: trainable adapters on a frozen base, their files (diffusers/PEFT with the `unet.`
 * prefix, as diffusers' `save_lora_weights` writes them, and kohya), and exact reloading for resume.
 */
import * as C from '@sdxs/core';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_LORA_TARGETS, type LoraTrainConfig } from './lora-config.js';
import type { NamedParameters } from './optim/optimizer.js';

/** The adapter name training uses. */
export const LORA_ADAPTER = 'default';
/** diffusers' file name: what `loadLoraWeights(folder)` and `pipe.load_lora_weights(folder)` pick. */
export const LORA_PEFT_FILE = 'pytorch_lora_weights.safetensors';
export const LORA_KOHYA_FILE = 'lora_kohya.safetensors';
const PEFT_PREFIX = 'unet.';
const INIT_ADAPTER = '__init_from';

/**
 * Freeze every base parameter and add fresh adapters (A uniform, B zero) on the targeted layers, or adapters
 * copied from `cfg.initFrom`. Returns the adapter parameters by PEFT name (`<module>.lora_A.weight`, ...).
 */
export async function addTrainableLora(model: C.Module, cfg: LoraTrainConfig, seed = 0): Promise<NamedParameters> {
  for (const p of model.parameters()) p.trainable = false;
  const params = C.nn.addLora(model, { rank: cfg.rank, alpha: cfg.alpha, targets: cfg.targets ?? DEFAULT_LORA_TARGETS, adapterName: LORA_ADAPTER, seed, dropout: cfg.dropout });
  if (cfg.initFrom) await copyAdaptersFrom(model, cfg.initFrom);
  return params;
}

/** Set the trainable adapters to a LoRA file's (PEFT or kohya): same layers and rank; B rescaled when the file's alpha/rank differs. */
async function copyAdaptersFrom(model: C.Module, source: string): Promise<void> {
  await C.nn.loadLora(model, source, { adapterName: INIT_ADAPTER, component: 'unet', otherComponents: 'ignore' });
  try {
    const problems: string[] = [];
    const copies: [C.Parameter, C.Tensor][] = [];
    for (const [name, m] of model.namedModules()) {
      if (!C.nn.isLoraLayer(m)) continue;
      const mine = m.lora.adapters.get(LORA_ADAPTER);
      const init = m.lora.adapters.get(INIT_ADAPTER);
      if (!mine && !init) continue;
      if (!mine || !init) {
        problems.push(`${name}: ${mine ? 'not in the file' : 'in the file but not a LoRA target'}`);
        continue;
      }
      if (init.down.shape[0] !== mine.down.shape[0]) {
        problems.push(`${name}: rank ${init.down.shape[0]} in the file, ${mine.down.shape[0]} configured`);
        continue;
      }
      const ratio = init.scale / mine.scale;
      const down = (await init.down.value.data()) as Float32Array;
      const up = (await init.up.value.data()) as Float32Array;
      copies.push([mine.down, C.fromData(down.slice(), mine.down.shape, 'float32')]);
      copies.push([mine.up, C.fromData(ratio === 1 ? up.slice() : up.map((v) => v * ratio), mine.up.shape, 'float32')]);
    }
    if (problems.length) {
      C.dispose(copies.map(([, t]) => t));
      throw new C.CheckpointError(`lora.initFrom '${source}' does not match the configured adapters: ${problems.slice(0, 8).join('; ')}${problems.length > 8 ? `; … ${problems.length - 8} more` : ''}`);
    }
    for (const [p, t] of copies) {
      p.markChanging();
      p.set(t);
    }
  } finally {
    C.nn.unloadLora(model, INIT_ADAPTER);
  }
}

/** Writes the trained adapter (or `weights`, e.g. EMA, by PEFT name) into `dir` in the requested formats; returns the files. */
export async function saveLoraFiles(dir: string, model: C.Module, format: LoraTrainConfig['format'] = 'peft', weights?: ReadonlyMap<string, Float32Array>): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  if (format !== 'kohya') {
    files.push(path.join(dir, LORA_PEFT_FILE));
    await C.nn.saveLora(model, files[files.length - 1]!, { adapterName: LORA_ADAPTER, prefix: PEFT_PREFIX, weights });
  }
  if (format !== 'peft') {
    files.push(path.join(dir, LORA_KOHYA_FILE));
    await C.nn.saveLora(model, files[files.length - 1]!, { adapterName: LORA_ADAPTER, format: 'kohya', weights });
  }
  return files;
}

/** An adapter file written by `saveLoraFiles` (PEFT) as float32 values by PEFT name, checked against `params` (names and sizes). */
export async function readLoraState(file: string, params: NamedParameters): Promise<Map<string, Float32Array>> {
  const f = await C.loadSafetensors(file);
  try {
    const want = new Map(params);
    const out = new Map<string, Float32Array>();
    const problems: string[] = [];
    for (const key of f.names()) {
      const name = key.startsWith(PEFT_PREFIX) ? key.slice(PEFT_PREFIX.length) : key;
      const p = want.get(name);
      const data = p ? await f.readTyped(key) : null;
      if (!p) problems.push(`unexpected ${key}`);
      else if (!(data instanceof Float32Array) || data.length !== p.shape.reduce((a, b) => a * b, 1)) problems.push(`${key}: not float32 ${C.fmtShape(p.shape)}`);
      else out.set(name, data);
    }
    const present = new Set(f.names().map((k) => (k.startsWith(PEFT_PREFIX) ? k.slice(PEFT_PREFIX.length) : k)));
    for (const n of want.keys()) if (!present.has(n)) problems.push(`missing ${PEFT_PREFIX}${n}`);
    if (problems.length) throw new C.CheckpointError(`${file}: the saved adapter does not fit this run's LoRA (rank, targets): ${problems.slice(0, 8).join('; ')}${problems.length > 8 ? `; … ${problems.length - 8} more` : ''}`);
    return out;
  } finally {
    await f.close();
  }
}

/** Sets the adapter parameters bit for bit from a file written by `saveLoraFiles`. */
export async function loadLoraState(file: string, params: NamedParameters): Promise<void> {
  const values = await readLoraState(file, params);
  for (const [n, p] of params) {
    p.markChanging();
    p.set(C.fromData(values.get(n)!, p.shape, 'float32'));
  }
}
