/** New (trainable) LoRA adapters on a module's layers, and saving them as a diffusers/PEFT file. */
import { fromData } from '../engine.js';
import { InputError } from '../errors.js';
import { saveSafetensors, type SafetensorsTensorMap } from '../io/safetensors-write.js';
import { RandomGenerator } from '../random.js';
import type { Tensor } from '../tensor.js';
import { addLayerAdapter, isLoraLayer, type LoraLayer } from './lora.js';
import type { Module } from './module.js';
import type { Parameter } from './parameter.js';

export interface LoraInitOptions {
  rank: number;
  /** scale = alpha / rank (default alpha = rank: scale 1) */
  alpha?: number;
  /** module paths, or their endings after a '.', e.g. 'attn1.to_q', 'ff.net.2' */
  targets: readonly string[];
  adapterName?: string;
  seed?: number;
}

const matches = (path: string, targets: readonly string[]): boolean => targets.some((t) => path === t || path.endsWith(`.${t}`));

/**
 * Add a fresh adapter to every targeted Linear / Conv2d, initialised as PEFT does (A uniform in
 * ±1/sqrt(fan_in), B zero: the model is unchanged until trained). Returns the adapter parameters by their
 * PEFT names (`<module>.lora_A.weight`, `<module>.lora_B.weight`), ready for an optimizer.
 */
export function addLora(module: Module, opts: LoraInitOptions): [string, Parameter][] {
  const name = opts.adapterName ?? 'default';
  if (!(Number.isInteger(opts.rank) && opts.rank > 0)) throw new InputError(`LoRA rank must be a positive integer, got ${opts.rank}`);
  const layers = module.namedModules().filter((e): e is [string, Module & LoraLayer] => isLoraLayer(e[1]) && matches(e[0], opts.targets));
  if (!layers.length) throw new InputError(`LoRA targets ${opts.targets.join(', ')} match no Linear or Conv2d layer`);
  const g = new RandomGenerator(opts.seed ?? 0);
  const out: [string, Parameter][] = [];
  for (const [path, layer] of layers) {
    const { down, up } = layer.loraShapes(opts.rank);
    const fanIn = down.slice(1).reduce((a, b) => a * b, 1);
    const bound = 1 / Math.sqrt(fanIn);
    const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
    const a = fromData(g.fillUniform(new Float32Array(size(down)), -bound, bound), down, 'float32');
    const b = fromData(new Float32Array(size(up)), up, 'float32');
    addLayerAdapter(layer, name, a, b, (opts.alpha ?? opts.rank) / opts.rank, path);
    const ad = layer.lora.adapters.get(name)!;
    out.push([`${path}.lora_A.weight`, ad.down], [`${path}.lora_B.weight`, ad.up]);
  }
  return out;
}

/** An adapter's tensors by PEFT name (with `prefix`, e.g. 'unet.'), and its rank / alpha. */
export function loraStateDict(module: Module, adapterName = 'default', prefix = ''): { tensors: Map<string, Tensor>; rank: number; alpha: number; targets: string[] } {
  const tensors = new Map<string, Tensor>();
  let rank = 0;
  let alpha = 0;
  const targets: string[] = [];
  for (const [path, m] of module.namedModules()) {
    if (!isLoraLayer(m)) continue;
    const a = m.lora.adapters.get(adapterName);
    if (!a) continue;
    tensors.set(`${prefix}${path}.lora_A.weight`, a.down.value);
    tensors.set(`${prefix}${path}.lora_B.weight`, a.up.value);
    rank = a.down.shape[0]!;
    alpha = a.scale * rank;
    targets.push(path);
  }
  if (!tensors.size) throw new InputError(`no adapter named '${adapterName}' to save`);
  return { tensors, rank, alpha, targets };
}

/**
 * Save an adapter as diffusers/PEFT safetensors (float32): `<prefix><module>.lora_A.weight` / `lora_B.weight`,
 * with the LoraConfig (r, lora_alpha, target_modules) in the metadata `lora_adapter_metadata`, keys prefixed
 * like the tensors when a prefix is given (as diffusers writes them).
 */
export async function saveLora(module: Module, file: string, opts: { adapterName?: string; prefix?: string } = {}): Promise<void> {
  const prefix = opts.prefix ?? '';
  const { tensors, rank, alpha, targets } = loraStateDict(module, opts.adapterName, prefix);
  const map: SafetensorsTensorMap = {};
  for (const [k, t] of tensors) map[k] = { dtype: 'F32', shape: t.shape, data: (await t.data()) as Float32Array };
  const p = prefix.replace(/\.$/, '');
  const key = (k: string): string => (p ? `${p}.${k}` : k);
  const config = { [key('r')]: rank, [key('lora_alpha')]: alpha, [key('target_modules')]: targets, [key('init_lora_weights')]: true };
  await saveSafetensors(file, map, { format: 'pt', lora_adapter_metadata: JSON.stringify(config) });
}
