import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './cli-error.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs with usage errors that name the command and point at --help. */
export function parse<O extends Options>(
  command: string,
  argv: string[],
  options: O,
): { values: ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>>['values']; positionals: string[] } {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(`sdxs ${command}: ${(e as Error).message.replace(/\. To specify.*$/s, '')} (see sdxs ${command} --help)`);
  }
}

export function intArg(command: string, name: string, v: string | undefined, def: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`sdxs ${command}: --${name} must be an integer in [${min}, ${max}], got '${v}'`);
  return n;
}

export function numArg(command: string, name: string, v: string | undefined, def: number, min = -Infinity, max = Infinity): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`sdxs ${command}: --${name} must be a number in [${min}, ${max}], got '${v}'`);
  return n;
}
