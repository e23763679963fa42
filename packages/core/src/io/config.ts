/**
 * Model configs (`config.json`, `scheduler_config.json`, …) from a local folder or a URL, and typed
 * accessors that fail with a ConfigError naming the key and the file.
 */
import { AbortError, ConfigError, previewValue } from '../errors.js';
import { joinLocation, readTextLocation, type Location, type ReadTextOptions } from './location.js';

/** A parsed config: the JSON object exactly as written, unknown keys included. */
export type ConfigObject = Record<string, unknown>;

/**
 * Reads `<dirOrUrl>/<subfolder>/<fileName>` and parses it. A ConfigError names the file when it is
 * missing, unreadable, not JSON or not a JSON object.
 */
export async function loadConfig(
  dirOrUrl: Location,
  subfolder?: string,
  fileName = 'config.json',
  opts: ReadTextOptions = {},
): Promise<ConfigObject> {
  const file = joinLocation(dirOrUrl, subfolder, fileName);
  let text: string | undefined;
  try {
    text = await readTextLocation(file, opts);
  } catch (e) {
    if (e instanceof AbortError) throw e;
    throw new ConfigError(`${file}: cannot read config: ${(e as Error).message}`, { cause: e });
  }
  if (text === undefined) throw new ConfigError(`${file}: config file not found`);
  return parseConfig(text, file);
}

/**
 * The text without a leading byte order mark. Every JSON config reader of the project (model configs,
 * LoRA adapter configs, safetensors indexes, the training config) accepts a UTF-8 BOM, as Python's
 * `json.load` of a file opened with `utf-8-sig` does; one rule for all.
 */
export function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Parses config JSON text (a leading BOM is ignored, see stripBom); `file` names it in errors. */
export function parseConfig(text: string, file: string): ConfigObject {
  let json: unknown;
  try {
    json = JSON.parse(stripBom(text));
  } catch (e) {
    throw new ConfigError(`${file}: config is not valid JSON (${(e as Error).message})`, { cause: e });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ConfigError(`${file}: config is not a JSON object`);
  return json as ConfigObject;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

function get<T>(cfg: ConfigObject, key: string, file: string, what: string, ok: (v: unknown) => v is T, fallback: T | undefined): T {
  const v = Object.prototype.hasOwnProperty.call(cfg, key) ? cfg[key] : undefined;
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new ConfigError(`${file}: key '${key}' is ${v === null ? 'null' : 'missing'}; expected ${what}`);
  }
  if (!ok(v)) throw new ConfigError(`${file}: key '${key}' should be ${what} but is ${describe(v)}`);
  return v;
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isInteger = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const isString = (v: unknown): v is string => typeof v === 'string';
const isBoolean = (v: unknown): v is boolean => typeof v === 'boolean';
const isArray = (v: unknown): v is unknown[] => Array.isArray(v);
const isObject = (v: unknown): v is ConfigObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A finite number. Missing or null gives `fallback` when one is given, else a ConfigError. */
export function configNumber(cfg: ConfigObject, key: string, file: string, fallback?: number): number {
  return get(cfg, key, file, 'a number', isNumber, fallback);
}
/** An integer (JSON `4` or `4.0`). */
export function configInteger(cfg: ConfigObject, key: string, file: string, fallback?: number): number {
  return get(cfg, key, file, 'an integer', isInteger, fallback);
}
export function configString(cfg: ConfigObject, key: string, file: string, fallback?: string): string {
  return get(cfg, key, file, 'a string', isString, fallback);
}
export function configBoolean(cfg: ConfigObject, key: string, file: string, fallback?: boolean): boolean {
  return get(cfg, key, file, 'true or false', isBoolean, fallback);
}
/** An array of anything. */
export function configArray(cfg: ConfigObject, key: string, file: string, fallback?: unknown[]): unknown[] {
  return get(cfg, key, file, 'an array', isArray, fallback);
}
/** An array of finite numbers, optionally of a given length. */
export function configNumberArray(cfg: ConfigObject, key: string, file: string, fallback?: number[], length?: number): number[] {
  const what = `an array of ${length ?? ''}${length === undefined ? '' : ' '}numbers`;
  const arr = get(cfg, key, file, what, (v): v is number[] => Array.isArray(v) && v.every(isNumber), fallback);
  if (length !== undefined && arr.length !== length) throw new ConfigError(`${file}: key '${key}' has ${arr.length} entries; expected ${length}`);
  return arr;
}
/** An array of integers, optionally of a given length. */
export function configIntegerArray(cfg: ConfigObject, key: string, file: string, fallback?: number[], length?: number): number[] {
  const what = `an array of ${length ?? ''}${length === undefined ? '' : ' '}integers`;
  const arr = get(cfg, key, file, what, (v): v is number[] => Array.isArray(v) && v.every(isInteger), fallback);
  if (length !== undefined && arr.length !== length) throw new ConfigError(`${file}: key '${key}' has ${arr.length} entries; expected ${length}`);
  return arr;
}
export function configStringArray(cfg: ConfigObject, key: string, file: string, fallback?: string[]): string[] {
  return get(cfg, key, file, 'an array of strings', (v): v is string[] => Array.isArray(v) && v.every(isString), fallback);
}
/** A nested object (e.g. `text_config`). */
export function configObject(cfg: ConfigObject, key: string, file: string, fallback?: ConfigObject): ConfigObject {
  return get(cfg, key, file, 'an object', isObject, fallback);
}
/** `cfg[key]` when present and not null, else undefined (no type check). */
export function configOptional(cfg: ConfigObject, key: string): unknown {
  const v = Object.prototype.hasOwnProperty.call(cfg, key) ? cfg[key] : undefined;
  return v === null ? undefined : v;
}

/**
 * Upper bounds on architecture sizes, far above any real checkpoint (SDXS-1B and Qwen3.5 use a
 * fraction of each). A config beyond them is corrupt or hostile: building the model would exhaust
 * memory after minutes instead of failing at once.
 */
export const CONFIG_LIMITS = Object.freeze({
  /** channels, hidden sizes, embedding dims */
  channels: 65_536,
  /** MLP intermediate sizes */
  intermediate: 262_144,
  /** layers (resnets, transformer blocks) inside one block */
  layersPerBlock: 64,
  /** blocks of a UNet/VAE path (each halves or doubles resolution) */
  blocks: 12,
  /** decoder layers of a text model */
  layers: 1024,
  /** attention heads */
  heads: 1024,
  /** dims of one head */
  headDim: 4096,
  vocab: 4_194_304,
  positions: 16_777_216,
  kernel: 31,
  timesteps: 1_000_000,
});

/**
 * `value` when it lies in [min, max] (integers when `integer`), else a ConfigError naming the key and
 * the range. Use after the type accessors for every size that allocates.
 */
export function checkConfigRange(file: string, key: string, value: number, min: number, max: number, integer = true): number {
  const ok = Number.isFinite(value) && (!integer || Number.isSafeInteger(value)) && value >= min && value <= max;
  if (!ok) throw new ConfigError(`${file}: key '${key}' must be ${integer ? 'an integer' : 'a number'} in [${min}, ${max}], got ${previewValue(value)}`);
  return value;
}

/** A positive finite number below `max` (epsilons, scale factors). */
export function checkConfigPositive(file: string, key: string, value: number, max = Number.MAX_VALUE): number {
  if (!(Number.isFinite(value) && value > 0 && value < max)) {
    throw new ConfigError(`${file}: key '${key}' must be a number > 0${max < Number.MAX_VALUE ? ` and < ${max}` : ''}, got ${previewValue(value)}`);
  }
  return value;
}
