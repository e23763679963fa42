/**
 * New (trainable) LoRA adapters on a module's layers, their training mode (input dropout), and saving them as
 * a diffusers/PEFT or a kohya file.
 */
import { fromData } from '../../engine.js';
import { InputError } from '../../errors.js';
import { saveSafetensors, type SafetensorsTensorMap } from '../../io/safetensors-write.js';
import { RandomGenerator, fnv1a } from '../../random.js';
import type { Tensor } from '../../tensor.js';
import { addLayerAdapter, checkLoraDropout, isLoraLayer, type LoraLayer } from '../../nn/lora.js';
import type { Module } from '../../nn/module.js';
import type { Parameter } from '../../nn/parameter.js';

export interface LoraInitOptions {
  rank: number;
  /** scale = alpha / rank (default alpha = rank: scale 1) */
  alpha?: number;
  /** module paths, or their endings after a '.', e.g. 'attn1.to_q', 'ff.net.2' */
  targets: readonly string[];
  adapterName?: string;
  seed?: number;
  /** dropout probability on the adapters' input while training (PEFT `lora_dropout`; default 0) */
  dropout?: number;
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
  const p = opts.dropout ?? 0;
  checkLoraDropout(p);
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
    addLayerAdapter(layer, name, a, b, (opts.alpha ?? opts.rank) / opts.rank, path, p > 0 ? { p, key: fnv1a(path) } : undefined);
    const ad = layer.lora.adapters.get(name)!;
    out.push([`${path}.lora_A.weight`, ad.down], [`${path}.lora_B.weight`, ad.up]);
  }
  return out;
}

/** Training mode for every adapter's input dropout: masks drawn from `seed` for the next forward, or `null` for evaluation (no dropout). */
export function setLoraTraining(module: Module, seed: number | null): void {
  for (const [, m] of module.namedModules()) if (isLoraLayer(m)) m.lora.trainingSeed = seed === null ? null : seed >>> 0;
}

/** Whether any adapter of the module applies dropout while training. */
export function hasLoraDropout(module: Module): boolean {
  return module.namedModules().some(([, m]) => isLoraLayer(m) && [...m.lora.adapters.values()].some((a) => (a.dropout?.p ?? 0) > 0));
}

/** An adapter's tensors by PEFT name (with `prefix`, e.g. 'unet.'), and its rank / alpha / dropout. */
export function loraStateDict(module: Module, adapterName = 'default', prefix = ''): { tensors: Map<string, Tensor>; rank: number; alpha: number; dropout: number; targets: string[] } {
  const tensors = new Map<string, Tensor>();
  let rank = 0;
  let alpha = 0;
  let dropout = 0;
  const targets: string[] = [];
  for (const [path, m] of module.namedModules()) {
    if (!isLoraLayer(m)) continue;
    const a = m.lora.adapters.get(adapterName);
    if (!a) continue;
    tensors.set(`${prefix}${path}.lora_A.weight`, a.down.value);
    tensors.set(`${prefix}${path}.lora_B.weight`, a.up.value);
    rank = a.down.shape[0]!;
    alpha = a.scale * rank;
    dropout = a.dropout?.p ?? 0;
    targets.push(path);
  }
  if (!tensors.size) throw new InputError(`no adapter named '${adapterName}' to save`);
  return { tensors, rank, alpha, dropout, targets };
}

export interface SaveLoraOptions {
  adapterName?: string;
  /**
   * 'peft' (default): diffusers/PEFT keys `<prefix><module>.lora_A.weight` / `lora_B.weight`;
   * 'kohya': sd-scripts keys `<prefix><module with _>.lora_down.weight` / `.lora_up.weight` / `.alpha`.
   */
  format?: 'peft' | 'kohya';
  /** key prefix: default '' for PEFT (diffusers' pipelines write 'unet.'), 'lora_unet_' for kohya */
  prefix?: string;
  /** values to write instead of the adapter's own, by PEFT name without prefix (`<module>.lora_A.weight`), e.g. EMA weights */
  weights?: ReadonlyMap<string, Float32Array>;
}

/**
 * Save an adapter as float32 safetensors. PEFT: the LoraConfig (r, lora_alpha, lora_dropout, target_modules) goes
 * in the metadata `lora_adapter_metadata`, keys prefixed like the tensors when a prefix is given (as diffusers
 * writes them). kohya: a scalar `.alpha` per module and sd-scripts' `ss_network_*` metadata.
 */
export async function saveLora(module: Module, file: string, opts: SaveLoraOptions = {}): Promise<void> {
  const kohya = opts.format === 'kohya';
  const prefix = opts.prefix ?? (kohya ? 'lora_unet_' : '');
  const { tensors, rank, alpha, dropout, targets } = loraStateDict(module, opts.adapterName);
  const map: SafetensorsTensorMap = {};
  for (const [k, t] of tensors) {
    const data = opts.weights?.get(k) ?? ((await t.data()) as Float32Array);
    if (data.length !== t.size) throw new InputError(`saveLora: weights for '${k}' have ${data.length} values, the adapter ${t.size}`);
    const m = kohya ? /^(.+)\.lora_([AB])\.weight$/.exec(k) : null;
    if (m) {
      const flat = `${prefix}${m[1]!.replace(/\./g, '_')}`;
      map[`${flat}.${m[2] === 'A' ? 'lora_down' : 'lora_up'}.weight`] = { dtype: 'F32', shape: t.shape, data };
      map[`${flat}.alpha`] = { dtype: 'F32', shape: [], data: Float32Array.of(alpha) };
    } else map[`${prefix}${k}`] = { dtype: 'F32', shape: t.shape, data };
  }
  if (kohya) {
    await saveSafetensors(file, map, { format: 'pt', ss_network_module: 'networks.lora', ss_network_dim: String(rank), ss_network_alpha: String(alpha) });
    return;
  }
  const p = prefix.replace(/\.$/, '');
  const key = (k: string): string => (p ? `${p}.${k}` : k);
  const config = { [key('r')]: rank, [key('lora_alpha')]: alpha, [key('lora_dropout')]: dropout, [key('target_modules')]: targets, [key('init_lora_weights')]: true };
  await saveSafetensors(file, map, { format: 'pt', lora_adapter_metadata: JSON.stringify(config) });
}
