/**
 * Model configs (`config.json`, `scheduler_config.json`, …) from a local folder or a URL, and the one
 * reader of them (ConfigReader), whose accessors fail with a ConfigError naming the file and the key.
 *
 * Convention: a config file keeps its keys as diffusers and transformers write them (snake_case), and
 * every error names the key exactly as written in the file, with its path (`text_config.hidden_size`).
 * The parsed, validated config objects are TypeScript objects with camelCase fields, one per key
 * (`in_channels` → `inChannels`; derived values say what they are derived from), like every attribute of
 * the model code that is not a checkpoint key. Only module attributes that are checkpoint keys
 * (`conv_in`, `to_out`, `down_blocks`) are snake_case.
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

/** How a wrong value reads in an error: strings keep their quotes, so "32" (a string) never reads as the number 32. */
function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return previewValue(v, 40);
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isInteger = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const isString = (v: unknown): v is string => typeof v === 'string';
const isBoolean = (v: unknown): v is boolean => typeof v === 'boolean';
const isArray = (v: unknown): v is unknown[] => Array.isArray(v);
/** A JSON object (not an array, not null). */
export const isConfigObject = (v: unknown): v is ConfigObject => typeof v === 'object' && v !== null && !Array.isArray(v);

const arrayOf = (n: number | undefined, what: string): string => `an array of ${n === undefined ? '' : `${n} `}${what}`;

/**
 * The one reader of config objects: typed accessors over one JSON object of a config file. Every error
 * is a ConfigError of the form `<file>: key '<path><key>' …`, naming the file and the key as written in
 * it (`path` is the prefix of a nested object: `text_config.`). A key that is absent or null is unset:
 * the accessor returns its fallback when one is given, else fails naming the key.
 */
export class ConfigReader {
  constructor(
    readonly obj: ConfigObject,
    readonly file: string,
    readonly path = '',
  ) {}

  /** A reader of `json`, which must be a JSON object. */
  static of(json: unknown, file: string, path = ''): ConfigReader {
    if (!isConfigObject(json)) throw new ConfigError(`${file}: ${path ? `key '${path.replace(/\.$/, '')}' must be an object` : 'config is not a JSON object'}`);
    return new ConfigReader(json, file, path);
  }

  /** The key as errors name it (with the path of the nested object). */
  name(key: string): string {
    return `${this.path}${key}`;
  }

  /** Whether the key is set (present, own, not null). */
  has(key: string): boolean {
    return this.raw(key) !== undefined;
  }

  /** The value when set, else undefined (no type check). */
  raw(key: string): unknown {
    const v = Object.prototype.hasOwnProperty.call(this.obj, key) ? this.obj[key] : undefined;
    return v === null ? undefined : v;
  }

  /** Fails with `<file>: key '<path><key>' <message>`. */
  fail(key: string, message: string): never {
    throw new ConfigError(`${this.file}: key '${this.name(key)}' ${message}`);
  }

  /** Fails: the key holds a value of the wrong kind. */
  bad(key: string, what: string): never {
    const v = Object.prototype.hasOwnProperty.call(this.obj, key) ? this.obj[key] : undefined;
    return this.fail(key, `should be ${what} but is ${describe(v)}`);
  }

  private get<T>(key: string, what: string, ok: (v: unknown) => v is T, fallback: T | undefined): T {
    const v = this.raw(key);
    if (v === undefined) {
      if (fallback !== undefined) return fallback;
      const isNull = Object.prototype.hasOwnProperty.call(this.obj, key) && this.obj[key] === null;
      return this.fail(key, `is ${isNull ? 'null' : 'missing'}; expected ${what}`);
    }
    if (!ok(v)) return this.bad(key, what);
    return v;
  }

  /** `value` when it lies in [min, max] (an integer when `integer`), else a ConfigError naming the key and the range. */
  range(key: string, value: number, min: number, max: number, integer = true): number {
    return checkConfigRange(this.file, this.name(key), value, min, max, integer);
  }

  /** A finite number. */
  number(key: string, fallback?: number): number {
    return this.get(key, 'a number', isNumber, fallback);
  }
  /** A number > 0 and < max (epsilons, scale factors). */
  positive(key: string, fallback?: number, max = Number.MAX_VALUE): number {
    return checkConfigPositive(this.file, this.name(key), this.number(key, fallback), max);
  }
  /** An integer (JSON `4` or `4.0`), in [min, max] when given: every size that allocates should be bounded (CONFIG_LIMITS). */
  integer(key: string, fallback?: number, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.get(key, 'an integer', isInteger, fallback);
    return v === fallback && !this.has(key) ? v : this.range(key, v, min, max);
  }
  string(key: string, fallback?: string): string {
    return this.get(key, 'a string', isString, fallback);
  }
  boolean(key: string, fallback?: boolean): boolean {
    return this.get(key, 'true or false', isBoolean, fallback);
  }
  /** An array of anything. */
  array(key: string, fallback?: unknown[]): unknown[] {
    return this.get(key, 'an array', isArray, fallback);
  }
  /** An array of finite numbers, of `length` entries when given. */
  numbers(key: string, fallback?: number[], length?: number): number[] {
    return this.sized(key, this.get(key, arrayOf(length, 'numbers'), (v): v is number[] => Array.isArray(v) && v.every(isNumber), fallback), length);
  }
  /** An array of integers, of `length` entries when given. */
  integers(key: string, fallback?: number[], length?: number): number[] {
    return this.sized(key, this.get(key, arrayOf(length, 'integers'), (v): v is number[] => Array.isArray(v) && v.every(isInteger), fallback), length);
  }
  strings(key: string, fallback?: string[]): string[] {
    return this.get(key, 'an array of strings', (v): v is string[] => Array.isArray(v) && v.every(isString), fallback);
  }
  /** A nested object (e.g. `text_config`). */
  object(key: string, fallback?: ConfigObject): ConfigObject {
    return this.get(key, 'an object', isConfigObject, fallback);
  }
  /** A reader of the nested object `key` (its errors name `<path><key>.<inner key>`); undefined when unset. */
  section(key: string): ConfigReader | undefined {
    return this.has(key) ? new ConfigReader(this.object(key), this.file, `${this.name(key)}.`) : undefined;
  }

  private sized<T>(key: string, arr: T[], length: number | undefined): T[] {
    if (length !== undefined && arr.length !== length) this.fail(key, `has ${arr.length} entries; expected ${length}`);
    return arr;
  }
}

/** A finite number. Missing or null gives `fallback` when one is given, else a ConfigError. */
export function configNumber(cfg: ConfigObject, key: string, file: string, fallback?: number): number {
  return new ConfigReader(cfg, file).number(key, fallback);
}
/** An integer (JSON `4` or `4.0`). */
export function configInteger(cfg: ConfigObject, key: string, file: string, fallback?: number): number {
  return new ConfigReader(cfg, file).integer(key, fallback);
}
export function configString(cfg: ConfigObject, key: string, file: string, fallback?: string): string {
  return new ConfigReader(cfg, file).string(key, fallback);
}
export function configBoolean(cfg: ConfigObject, key: string, file: string, fallback?: boolean): boolean {
  return new ConfigReader(cfg, file).boolean(key, fallback);
}
/** An array of anything. */
export function configArray(cfg: ConfigObject, key: string, file: string, fallback?: unknown[]): unknown[] {
  return new ConfigReader(cfg, file).array(key, fallback);
}
/** An array of finite numbers, optionally of a given length. */
export function configNumberArray(cfg: ConfigObject, key: string, file: string, fallback?: number[], length?: number): number[] {
  return new ConfigReader(cfg, file).numbers(key, fallback, length);
}
/** An array of integers, optionally of a given length. */
export function configIntegerArray(cfg: ConfigObject, key: string, file: string, fallback?: number[], length?: number): number[] {
  return new ConfigReader(cfg, file).integers(key, fallback, length);
}
export function configStringArray(cfg: ConfigObject, key: string, file: string, fallback?: string[]): string[] {
  return new ConfigReader(cfg, file).strings(key, fallback);
}
/** A nested object (e.g. `text_config`). */
export function configObject(cfg: ConfigObject, key: string, file: string, fallback?: ConfigObject): ConfigObject {
  return new ConfigReader(cfg, file).object(key, fallback);
}
/** `cfg[key]` when present and not null, else undefined (no type check). */
export function configOptional(cfg: ConfigObject, key: string): unknown {
  return new ConfigReader(cfg, '').raw(key);
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
