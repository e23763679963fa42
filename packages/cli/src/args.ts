import { UsageError } from './cli-error.js';

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

const WEIGHT_DTYPES = ['float32', 'float16', 'bfloat16', 'half', 'source'] as const;
export type WeightDTypeArg = (typeof WEIGHT_DTYPES)[number];
export const DTYPE_HELP = 'weight storage: float32, float16, bfloat16, half (16-bit checkpoints as they are, float32 ones as float16) or source (the checkpoint precision); default float32, source on ort-*, half on tfjs-wasm';

/** --dtype: one of WEIGHT_DTYPES, or undefined to let the pipeline choose for the backend. */
export function dtypeArg(command: string, v: string | undefined): WeightDTypeArg | undefined {
  if (v === undefined) return undefined;
  if (!(WEIGHT_DTYPES as readonly string[]).includes(v)) throw new UsageError(`sdxs ${command}: --dtype must be one of ${WEIGHT_DTYPES.join(', ')}, got '${v}'`);
  return v as WeightDTypeArg;
}
