/**
 * Field checks for the JSON training config: each one takes the value exactly as parsed, never coerces
 * (a string where a number belongs is an error), and throws a ConfigError naming the file, the key
 * (dotted for nested objects) and the value as written.
 */
import { clip, ConfigError, previewValue } from '@sdxs/core';

export type ConfigRecord = Record<string, unknown>;

/** Fails with `<file>: '<key>' must be <what>, got <value>`. */
export function configProblem(file: string, key: string, what: string, value: unknown): never {
  throw new ConfigError(`${file}: '${clip(key, 120)}' must be ${what}, got ${previewValue(value)}`);
}

/** `v` as an object (not null, not an array), else a ConfigError. */
export function checkObject(file: string, key: string, v: unknown, example: string): ConfigRecord {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) configProblem(file, key, `an object such as ${example}`, v);
  return v as ConfigRecord;
}

/**
 * Refuses every key of `obj` not in `known`, naming it (keys starting with `//` are comments and must hold
 * a string). `where` is the dotted path of `obj` ('' at the top).
 */
export function checkKnownKeys(file: string, obj: ConfigRecord, known: ReadonlySet<string>, where = ''): void {
  for (const k of Object.keys(obj)) {
    const key = where ? `${where}.${k}` : k;
    if (k.startsWith('//')) {
      if (typeof obj[k] !== 'string' && !(Array.isArray(obj[k]) && (obj[k] as unknown[]).every((s) => typeof s === 'string'))) {
        configProblem(file, key, 'a string (keys starting with // are comments)', obj[k]);
      }
      continue;
    }
    if (!known.has(k)) {
      throw new ConfigError(`${file}: unknown key '${clip(key, 120)}'${where ? ` in '${where}'` : ''} (known: ${[...known].join(', ')}); remove it or fix its spelling`);
    }
  }
}

/** An integer in [min, max]. */
export function checkInteger(file: string, key: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) configProblem(file, key, `an integer from ${min} to ${max}`, v);
  return v;
}

/** A finite number in [min, max] (`open` excludes the named ends). */
export function checkNumber(file: string, key: string, v: unknown, min: number, max: number, open: { min?: boolean; max?: boolean } = {}): number {
  const ok = typeof v === 'number' && Number.isFinite(v) && (open.min ? v > min : v >= min) && (open.max ? v < max : v <= max);
  if (!ok) configProblem(file, key, `a number in ${open.min ? '(' : '['}${min}, ${max}${open.max ? ')' : ']'}`, v);
  return v as number;
}

/** One of `choices`. */
export function checkChoice<T extends string>(file: string, key: string, v: unknown, choices: readonly T[]): T {
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) configProblem(file, key, `one of ${choices.map((c) => `'${c}'`).join(', ')}`, v);
  return v as T;
}

/** A non-empty string. */
export function checkString(file: string, key: string, v: unknown, what = 'a non-empty string'): string {
  if (typeof v !== 'string' || v.length === 0) configProblem(file, key, what, v);
  return v;
}

/** true or false. */
export function checkBoolean(file: string, key: string, v: unknown): boolean {
  if (typeof v !== 'boolean') configProblem(file, key, 'true or false', v);
  return v;
}
