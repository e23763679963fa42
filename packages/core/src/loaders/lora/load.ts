/**
 * Loading shared LoRA files onto any Module whose layers are core Linear / Conv2d, and the model-level
 * operations (set, fuse, unfuse, unload). Key formats understood:
 * - diffusers / PEFT: `<module>.lora_A.weight` + `<module>.lora_B.weight` (also `lora_A.<adapter>.weight`,
 *   the older `<module>.lora.down.weight` / `.lora.up.weight` and attention-processor
 *   `<attn>.processor.to_q_lora.down.weight`), optional `<module>.alpha`; component prefixes `unet.` /
 *   `text_encoder.` and PEFT's `base_model.model.`; alpha from `adapter_config.json` or the safetensors
 *   metadata `lora_adapter_metadata` (diffusers), else scale 1.
 * - kohya / sd-scripts: `lora_unet_<module with _>.lora_down.weight` / `.lora_up.weight` / `.alpha`, and
 *   `lora_te_…` (`lora_te1_…`) for the text encoder; scale alpha / rank.
 * Every key must map onto a layer of the model (or belong to another component the caller ignores): all
 * problems are reported in one CheckpointError before anything is attached.
 */
import { CheckpointError, clip, HubError, InputError, previewValue, throwIfAborted } from '../../errors.js';
import { resolveModelSource } from '../../hub/snapshot.js';
import type { HubDownloadOptions } from '../../hub/download.js';
import { stripBom } from '../../io/config.js';
import { joinLocation, readTextLocation } from '../../io/location.js';
import { loadSafetensors, type SafetensorsFile } from '../../io/safetensors.js';
import { reshape } from '../../ops/shape.js';
import { fmtShape } from '../../shape.js';
import type { Tensor } from '../../tensor.js';
import { convertRaw, isFloatDType } from '../../nn/load.js';
import { fromData } from '../../engine.js';
import { addLayerAdapter, asFloat32, checkLoraScale, fuseLayer, isLoraLayer, removeLayerAdapters, unfuseLayer, type LoraLayer } from '../../nn/lora.js';
import type { Module } from '../../nn/module.js';

/** Which part of a pipeline a model is, for the component prefixes of shared files. */
export type LoraComponent = 'unet' | 'text_encoder';

const COMPONENT_PREFIXES: Record<LoraComponent, { dotted: string[]; kohya: string[] }> = {
  unet: { dotted: ['unet.'], kohya: ['lora_unet_'] },
  text_encoder: { dotted: ['text_encoder.'], kohya: ['lora_te_', 'lora_te1_'] },
};
/** Prefixes of components that no model here answers to (SDXL's second text encoder, DiT transformers). */
const FOREIGN_PREFIXES = ['text_encoder_2.', 'transformer.', 'lora_te2_', 'lora_transformer_'];

export const LORA_WEIGHT_NAMES = ['pytorch_lora_weights.safetensors', 'adapter_model.safetensors'] as const;

export interface LoraSourceOptions extends Omit<HubDownloadOptions, 'subfolder' | 'onProgress'> {
  /** file name inside a folder / repo (default: pytorch_lora_weights.safetensors, adapter_model.safetensors, or the folder's only .safetensors) */
  weightName?: string;
  subfolder?: string;
}

export interface LoadLoraOptions extends LoraSourceOptions {
  /** name to address the adapter by (default `default_<n>`, n = adapters already loaded) */
  adapterName?: string;
  /** the component this model is (default 'unet'): decides which prefixed keys are its own */
  component?: LoraComponent;
  /** keys of the other component here (text encoder keys when loading a UNet, …): an error (default) or skipped; keys of models not handled here stay errors */
  otherComponents?: 'error' | 'ignore';
  /** whether keys without a component prefix are this model's (default true; a pipeline gives them to the UNet only) */
  claimUnprefixed?: boolean;
  /** extra leading module paths a key may carry before this model's own paths (e.g. 'model.language_model.') */
  modulePrefixes?: readonly string[];
  /** the adapter starts with this weight (default 1) */
  weight?: number;
}

export interface LoraLoadReport {
  adapterName: string;
  file: string;
  /** layers that received the adapter */
  layers: number;
  /** keys left for another component (only with otherComponents 'ignore') */
  ignored: string[];
}

/** A LoRA file opened from a path, URL, folder or hub repo, with the PEFT config when one is present. */
export interface OpenedLora {
  file: SafetensorsFile;
  /** PEFT LoraConfig fields (adapter_config.json, or the safetensors metadata `lora_adapter_metadata`) */
  config: Record<string, unknown> | null;
  /** where `config` came from, for error messages (default: the weights file) */
  configSource?: string;
}

async function isDir(p: string): Promise<boolean> {
  try {
    const fs = await import('node:fs/promises');
    return (await fs.stat(p)).isDirectory();
  } catch {
    return false;
  }
}

function parseJson(text: string, where: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(stripBom(text));
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch (e) {
    throw new CheckpointError(`${where}: not valid JSON (${(e as Error).message})`);
  }
  throw new CheckpointError(`${where}: expected a JSON object`);
}

/** Open a LoRA safetensors file: a `.safetensors` path or URL, a local folder, a folder URL or a hub repo id. */
export async function openLora(source: string, opts: LoraSourceOptions = {}): Promise<OpenedLora> {
  let weightFile: string;
  let dir: string | null = null;
  const isUrl = /^https?:\/\//i.test(source);
  if (/\.safetensors$/i.test(source) && !(await isDir(source))) {
    weightFile = source;
  } else if (isUrl || (await isDir(source))) {
    dir = joinLocation(source, opts.subfolder);
    weightFile = joinLocation(dir, opts.weightName ?? (isUrl ? LORA_WEIGHT_NAMES[0] : await pickLocalWeight(dir)));
  } else {
    const wanted = opts.weightName ? [opts.weightName] : [...LORA_WEIGHT_NAMES];
    const hub = { ...opts };
    delete hub.weightName;
    let root: string;
    try {
      root = await resolveModelSource(source, { ...hub, files: [], optionalFiles: [...wanted, 'adapter_config.json'] });
    } catch (e) {
      if (e instanceof HubError && /no files requested/.test(e.message)) {
        throw new HubError(`'${source}' has none of ${wanted.join(', ')}${opts.subfolder ? ` in '${opts.subfolder}'` : ''}; pass weightName to pick the LoRA file`, 404);
      }
      throw e;
    }
    dir = root;
    const fs = await import('node:fs/promises');
    const found = [];
    for (const w of wanted) if (await fs.stat(joinLocation(root, w)).then(() => true, () => false)) found.push(w);
    if (!found.length) throw new HubError(`'${source}' has none of ${wanted.join(', ')}; pass weightName to pick the LoRA file`, 404);
    weightFile = joinLocation(root, found[0]);
  }
  const file = await loadSafetensors(weightFile, { signal: opts.signal });
  try {
    let config: Record<string, unknown> | null = null;
    let configSource: string | undefined;
    const meta = file.metadata['lora_adapter_metadata'];
    if (meta) {
      configSource = `${file.file} (metadata lora_adapter_metadata)`;
      config = parseJson(meta, configSource);
    }
    if (dir) {
      const cfgPath = joinLocation(dir, 'adapter_config.json');
      const text = await readTextLocation(cfgPath, { signal: opts.signal }).catch(() => undefined);
      if (text !== undefined) {
        configSource = cfgPath;
        config = parseJson(text, cfgPath);
      }
    }
    checkLoraConfig(config, configSource ?? file.file);
    return { file, config, configSource };
  } catch (e) {
    await file.close();
    throw e;
  }
}

async function pickLocalWeight(dir: string): Promise<string> {
  const fs = await import('node:fs/promises');
  const names = (await fs.readdir(dir)).filter((n) => n.endsWith('.safetensors'));
  for (const w of LORA_WEIGHT_NAMES) if (names.includes(w)) return w;
  if (names.length === 1) return names[0]!;
  throw new CheckpointError(
    names.length === 0 ? `${dir}: no .safetensors file in the folder` : `${dir}: ${names.length} .safetensors files (${names.join(', ')}); pass weightName to pick one`,
  );
}

type Role = 'down' | 'up' | 'alpha';
interface ParsedKey {
  key: string;
  /** component of the prefix, 'other' for one no model here answers to, null when unprefixed */
  component: LoraComponent | 'other' | null;
  /** module path: dotted, or kohya's underscore-joined form when `kohya` */
  module: string;
  kohya: boolean;
  role: Role;
}

const REFUSED: [RegExp, string][] = [
  [/lora_magnitude_vector/, 'DoRA (lora_magnitude_vector) is not supported'],
  [/dora_scale/, 'DoRA (dora_scale) is not supported'],
  [/\.hada_|\.lokr_|\.oft_|\.boft_/, 'LyCORIS LoHa/LoKr/OFT adapters are not supported (only LoRA)'],
  [/\.lora_B\.bias$|\.lora_up\.bias$|\.lora_B\.[^.]+\.bias$/, 'LoRA biases (lora_bias) are not supported'],
  [/\.diff(_b)?$/, 'full weight differences (.diff / .diff_b) are not supported'],
];

/** Classify one key: its component, module path and role, or the reason it is refused / unrecognised. */
export function parseLoraKey(key: string): ParsedKey | { key: string; problem: string } {
  for (const [re, why] of REFUSED) if (re.test(key)) return { key, problem: why };
  const kohya = /^(lora_unet_|lora_te\d?_|lora_transformer_)(.+?)\.(lora_down\.weight|lora_up\.weight|alpha)$/.exec(key);
  if (kohya) {
    const pre = kohya[1]!;
    const component: ParsedKey['component'] = pre === 'lora_unet_' ? 'unet' : pre === 'lora_te_' || pre === 'lora_te1_' ? 'text_encoder' : 'other';
    const role: Role = kohya[3] === 'alpha' ? 'alpha' : kohya[3] === 'lora_down.weight' ? 'down' : 'up';
    return { key, component, module: kohya[2]!, kohya: true, role };
  }
  let path: string;
  let role: Role;
  let m: RegExpExecArray | null;
  if ((m = /^(.+)\.lora_([AB])(?:\.[^.]+)?\.weight$/.exec(key))) [path, role] = [m[1]!, m[2] === 'A' ? 'down' : 'up'];
  else if ((m = /^(.+)\.(?:lora|lora_linear_layer)\.(down|up)\.weight$/.exec(key))) [path, role] = [m[1]!, m[2] as Role];
  else if ((m = /^(.+)\.processor\.(to_q|to_k|to_v|to_out)_lora\.(down|up)\.weight$/.exec(key))) {
    [path, role] = [`${m[1]}.${m[2] === 'to_out' ? 'to_out.0' : m[2]}`, m[3] as Role];
  } else if ((m = /^(.+)\.alpha$/.exec(key))) [path, role] = [m[1]!, 'alpha'];
  else return { key, problem: 'not a LoRA key (expected lora_A/lora_B, lora.down/lora.up or kohya lora_down/lora_up/alpha)' };
  if (path.startsWith('base_model.model.')) path = path.slice('base_model.model.'.length);
  let component: ParsedKey['component'] = null;
  for (const c of ['unet', 'text_encoder'] as const) {
    const p = COMPONENT_PREFIXES[c].dotted.find((d) => path.startsWith(d) && !FOREIGN_PREFIXES.some((f) => path.startsWith(f)));
    if (p) {
      component = c;
      path = path.slice(p.length);
    }
  }
  if (component === null && FOREIGN_PREFIXES.some((f) => path.startsWith(f))) component = 'other';
  return { key, component, module: path, kohya: false, role };
}

/** Config keys that hold an alpha (plain and per component). */
const ALPHA_KEYS = ['lora_alpha', 'unet.lora_alpha', 'text_encoder.lora_alpha'];
const PATTERN_KEYS = ['alpha_pattern', 'unet.alpha_pattern', 'text_encoder.alpha_pattern'];
const RSLORA_KEYS = ['use_rslora', 'unet.use_rslora', 'text_encoder.use_rslora'];

/**
 * Checks the fields of a PEFT LoRA config that set the scale: every `lora_alpha` and `alpha_pattern` entry
 * must be a finite number (a string or `1e400` is refused, never read as "no alpha"), `use_rslora` a boolean.
 * `where` names the config (its file, or the weights file whose metadata holds it).
 */
export function checkLoraConfig(config: Record<string, unknown> | null, where: string): void {
  if (!config) return;
  const alpha = (key: string, v: unknown): void => {
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new CheckpointError(`${where}: '${clip(key, 120)}' must be a finite number, got ${previewValue(v)}${typeof v === 'number' ? ' (too large for a float)' : ''}`);
    }
  };
  for (const k of ALPHA_KEYS) if (config[k] !== undefined && config[k] !== null) alpha(k, config[k]);
  for (const k of PATTERN_KEYS) {
    const p = config[k];
    if (p === undefined || p === null) continue;
    if (typeof p !== 'object' || Array.isArray(p)) throw new CheckpointError(`${where}: '${k}' must be an object of module → alpha, got ${previewValue(p)}`);
    for (const [m, a] of Object.entries(p as Record<string, unknown>)) alpha(`${k}.${m}`, a);
  }
  for (const k of RSLORA_KEYS) {
    const v = config[k];
    if (v !== undefined && v !== null && typeof v !== 'boolean') throw new CheckpointError(`${where}: '${k}' must be true or false, got ${previewValue(v)}`);
  }
}

/** PEFT's scale for a module: lora_alpha (or alpha_pattern's entry) / r, or / sqrt(r) with use_rslora (config checked by checkLoraConfig). */
function configScale(config: Record<string, unknown> | null, component: LoraComponent, module: string, rank: number): number | null {
  if (!config) return null;
  const get = (k: string): unknown => config[`${component}.${k}`] ?? config[k];
  const pattern = get('alpha_pattern');
  let alpha: unknown = get('lora_alpha');
  if (pattern && typeof pattern === 'object') {
    for (const [p, a] of Object.entries(pattern as Record<string, unknown>)) if (module === p || module.endsWith(`.${p}`)) alpha = a;
  }
  if (typeof alpha !== 'number') return null;
  return get('use_rslora') === true ? alpha / Math.sqrt(rank) : alpha / rank;
}

/** Layers of a module that can carry adapters, by dotted path and by kohya's underscore form. */
function loraLayers(module: Module, prefixes: readonly string[]): { dotted: Map<string, LoraLayer>; flat: Map<string, LoraLayer> } {
  const dotted = new Map<string, LoraLayer>();
  const flat = new Map<string, LoraLayer>();
  for (const [name, m] of module.namedModules()) {
    if (!isLoraLayer(m)) continue;
    for (const p of ['', ...prefixes]) {
      dotted.set(p + name, m);
      flat.set((p + name).replace(/\./g, '_'), m);
    }
  }
  return { dotted, flat };
}

const list = (xs: string[], n = 12): string => `${xs.slice(0, n).join(', ')}${xs.length > n ? `, … (${xs.length - n} more)` : ''}`;

/** Names of the adapters loaded anywhere in a module. */
export function loraAdapterNames(module: Module): string[] {
  const names = new Set<string>();
  for (const [, m] of module.namedModules()) if (isLoraLayer(m)) for (const n of m.lora.adapters.keys()) names.add(n);
  return [...names];
}

/**
 * Load a LoRA onto a module's Linear / Conv2d layers (see the file comment for the formats). Nothing is
 * attached unless every key fits.
 */
export async function loadLora(module: Module, source: string | OpenedLora, opts: LoadLoraOptions = {}): Promise<LoraLoadReport> {
  const opened = typeof source === 'string' ? await openLora(source, opts) : source;
  const { file, config } = opened;
  try {
    checkLoraConfig(config, opened.configSource ?? file.file);
    return await attach(module, file, config, opts);
  } finally {
    if (typeof source === 'string') await file.close();
  }
}

async function attach(module: Module, file: SafetensorsFile, config: Record<string, unknown> | null, opts: LoadLoraOptions): Promise<LoraLoadReport> {
  const component = opts.component ?? 'unet';
  const existing = loraAdapterNames(module);
  const name = opts.adapterName ?? `default_${existing.length}`;
  if (existing.includes(name)) throw new InputError(`an adapter named '${name}' is already loaded; unload it first or pass another adapterName`);
  if (opts.weight !== undefined && !Number.isFinite(opts.weight)) throw new InputError(`${file.file}: the adapter weight must be a finite number, got ${opts.weight}`);
  const layers = loraLayers(module, opts.modulePrefixes ?? []);
  const problems: string[] = [];
  const unmatched: string[] = [];
  const ignored: string[] = [];
  const groups = new Map<LoraLayer, { path: string; down?: string; up?: string; alpha?: string }>();
  for (const key of file.names()) {
    const p = parseLoraKey(key);
    if ('problem' in p) {
      problems.push(`'${key}': ${p.problem}`);
      continue;
    }
    if (p.component === null && opts.claimUnprefixed === false) {
      ignored.push(key);
      continue;
    }
    if (p.component !== null && p.component !== component) {
      if (p.component !== 'other' && (opts.otherComponents ?? 'error') === 'ignore') ignored.push(key);
      else unmatched.push(`${key} (belongs to ${p.component === 'other' ? 'another model' : `the ${p.component}`})`);
      continue;
    }
    const layer = (p.kohya ? layers.flat : layers.dotted).get(p.module);
    if (!layer) {
      unmatched.push(key);
      continue;
    }
    const g = groups.get(layer) ?? { path: p.module };
    if (g[p.role]) problems.push(`'${key}' and '${g[p.role]}' both give the ${p.role} of ${p.module}`);
    g[p.role] = key;
    groups.set(layer, g);
  }
  for (const [layer, g] of groups) {
    if (!g.down || !g.up) {
      problems.push(`${g.path}: ${g.down ? 'no up (lora_B / lora_up)' : 'no down (lora_A / lora_down)'} weight`);
      continue;
    }
    const down = file.info(g.down).shape;
    const up = file.info(g.up).shape;
    if (down.length < 2 || up.length < 2 || down.includes(0) || up.includes(0)) {
      problems.push(`${g.path}: down ${fmtShape(down)} / up ${fmtShape(up)} ${down[0] === 0 || up[1] === 0 ? 'have rank 0' : 'are empty or not matrices'}; an adapter needs rank ≥ 1 (down [r, in], up [out, r])`);
      continue;
    }
    const want = layer.loraShapes(down[0]!);
    if (!fits(down, want.down) || !fits(up, want.up)) {
      problems.push(`${g.path}: down ${fmtShape(down)} / up ${fmtShape(up)} do not fit the layer (want ${fmtShape(want.down)} / ${fmtShape(want.up)})`);
    }
  }
  if (unmatched.length) problems.unshift(`${unmatched.length} keys match no layer of the model: ${list(unmatched)}`);
  if (file.names().length === 0) problems.push('the file holds no tensors (an empty LoRA changes nothing)');
  else if (groups.size === 0 && !problems.length) problems.push(`no ${component} LoRA weights in the file`);
  if (problems.length) {
    const shown = problems.length > 16 ? [...problems.slice(0, 16), `… ${problems.length - 16} more problems`] : problems;
    throw new CheckpointError(`${file.file}: LoRA does not fit the ${component}: ${shown.join('; ')}`);
  }

  const done: LoraLayer[] = [];
  try {
    for (const [layer, g] of groups) {
      throwIfAborted(opts.signal);
      const rank = file.info(g.down!).shape[0]!;
      let scale = 1;
      if (g.alpha) scale = (await readScalar(file, g.alpha)) / rank;
      else scale = configScale(config, component, g.path, rank) ?? 1;
      checkLoraScale(scale, `${file.file} [${g.alpha ?? g.path}]`);
      const down = await readAs(file, g.down!, layer.loraShapes(rank).down);
      let up: Tensor;
      try {
        up = await readAs(file, g.up!, layer.loraShapes(rank).up);
      } catch (e) {
        down.dispose();
        throw e;
      }
      addLayerAdapter(layer, name, down, up, scale, `${file.file} [${g.path}]`);
      if (opts.weight !== undefined) layer.lora.weights.set(name, opts.weight);
      done.push(layer);
    }
  } catch (e) {
    for (const l of done) removeLayerAdapters(l, [name]);
    throw e;
  }
  return { adapterName: name, file: file.file, layers: groups.size, ignored };
}

/** Same numbers once trailing 1x1 dims are ignored (a Linear's LoRA stored as [r, in, 1, 1] and back). */
function fits(got: readonly number[], want: readonly number[]): boolean {
  const strip = (s: readonly number[]): number[] => {
    const a = [...s];
    while (a.length > 2 && a[a.length - 1] === 1) a.pop();
    return a;
  };
  const g = strip(got);
  const w = strip(want);
  return g.length === w.length && g.every((d, i) => d === w[i]);
}

/** A tensor's values as float32, refused (naming file and tensor) when one is NaN or ±Inf. */
async function readFinite(file: SafetensorsFile, key: string): Promise<Float32Array> {
  const info = file.info(key);
  const where = `${file.file} [${clip(key)}]`;
  const v = convertRaw(await file.readTyped(key), info.dtype, 'float32', where) as Float32Array;
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i]!)) {
      let bad = 0;
      for (let j = i; j < v.length; j++) if (!Number.isFinite(v[j]!)) bad++;
      throw new CheckpointError(`${where}: ${bad} of ${v.length} LoRA values are not finite (the first, ${v[i]}, at index ${i}); the adapter would turn the image to NaN`);
    }
  }
  return v;
}

async function readAs(file: SafetensorsFile, key: string, shape: readonly number[]): Promise<Tensor> {
  const t = asFloat32(fromData(await readFinite(file, key), file.info(key).shape, 'float32'));
  if (t.shape.length === shape.length) return t;
  const r = reshape(t, shape);
  t.dispose();
  return r;
}

async function readScalar(file: SafetensorsFile, key: string): Promise<number> {
  const info = file.info(key);
  if (info.shape.reduce((a, b) => a * b, 1) !== 1) throw new CheckpointError(`${file.file} [${key}]: alpha must be a scalar, got ${fmtShape(info.shape)}`);
  // an alpha is a number, and some tools store a whole one as an integer tensor (I64): that one is read as is
  if (!isFloatDType(info.dtype) && info.dtype !== 'BOOL') return Number((await file.readTyped(key))[0]!);
  return (await readFinite(file, key))[0]!;
}

function eachLayer(module: Module, fn: (l: LoraLayer) => void): void {
  for (const [, m] of module.namedModules()) if (isLoraLayer(m)) fn(m);
}

/**
 * Choose the active adapters and their weights (diffusers' set_adapters). Adapters not named are inactive;
 * `weights` is one number for all or one per name (default 1).
 */
export function setLoraAdapters(module: Module, names: string | readonly string[], weights?: number | readonly number[]): void {
  const list = typeof names === 'string' ? [names] : [...names];
  const w = weights === undefined ? list.map(() => 1) : typeof weights === 'number' ? list.map(() => weights) : [...weights];
  if (w.length !== list.length) throw new InputError(`setAdapters: ${list.length} names but ${w.length} weights`);
  const bad = w.find((x) => !Number.isFinite(x));
  if (bad !== undefined) throw new InputError(`setAdapters: adapter weights must be finite numbers, got ${bad}`);
  const loaded = loraAdapterNames(module);
  const unknown = list.filter((n) => !loaded.includes(n));
  if (unknown.length) throw new InputError(`setAdapters: no adapter named ${unknown.map((n) => `'${n}'`).join(', ')}; loaded: ${loaded.length ? loaded.join(', ') : 'none'}`);
  eachLayer(module, (l) => {
    l.lora.weights.clear();
    list.forEach((n, i) => {
      if (l.lora.adapters.has(n)) l.lora.weights.set(n, w[i]!);
    });
  });
}

/** Names and weights of the active adapters. */
export function activeLoraAdapters(module: Module): Map<string, number> {
  const out = new Map<string, number>();
  eachLayer(module, (l) => l.lora.weights.forEach((w, n) => out.set(n, w)));
  return out;
}

/** Merge the active adapters into the base weights (W + scale · Σ c B A); keeps the bases for `unfuseLora`. */
export async function fuseLora(module: Module, opts: { scale?: number } = {}): Promise<void> {
  const layers: LoraLayer[] = [];
  eachLayer(module, (l) => layers.push(l));
  for (const l of layers) await fuseLayer(l, opts.scale ?? 1);
}

/** Restore the base weights exactly as they were before `fuseLora`. */
export function unfuseLora(module: Module): void {
  eachLayer(module, unfuseLayer);
}

/** Remove adapters (all when `names` is omitted), unfusing first where needed. */
export function unloadLora(module: Module, names?: string | readonly string[]): void {
  const list = typeof names === 'string' ? [names] : names;
  eachLayer(module, (l) => removeLayerAdapters(l, list));
}
