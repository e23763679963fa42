import * as C from '@sdxs/core';
import { UsageError } from './cli-error.js';
import type { CliIo } from './io.js';

export interface SelectBackendOptions {
  /** machine-readable output: print nothing */
  json?: boolean;
  quiet?: boolean;
  /** also print what `auto` tried and why each skipped backend was skipped */
  verbose?: boolean;
  /** --compute: f16, f32, int8 or auto (default: SDXS_COMPUTE, else auto) */
  compute?: string;
}

/** The help line of --compute. */
export const COMPUTE_HELP =
  'compute precision: auto (default / SDXS_COMPUTE: float16 on CUDA and WebGPU with shader-f16, float32 elsewhere), f16, f32, int8 (ort-cpu: int8 products; up to 8% relative error per UNet call, more through the text encoder)';

/** --compute (else SDXS_COMPUTE, read by core's env) as core's compute option; anything else is a usage error. */
export function parseCompute(command: string, value: string | undefined, env: C.EnvSource): C.ComputePrecision | 'auto' {
  if (value === undefined) return C.envCompute(env) ?? 'auto';
  const c = C.computeNamed(value);
  if (!c) throw new UsageError(`sdxs ${command}: --compute must be auto, f16, f32 or int8 (got '${value}')`);
  return c;
}

/** A --compute that must name a precision (no 'auto': nothing is running to choose from), default f32. */
export function parsePrecision(command: string, value: string | undefined): C.ComputePrecision {
  const c = value === undefined ? 'float32' : C.computeNamed(value);
  if (!c || c === 'auto') throw new UsageError(`sdxs ${command}: --compute must be f16, f32 or int8 (got '${value}')`);
  return c;
}

/** The help line of --backend: every registered backend, from core's registry. */
export function backendHelp(): string {
  return `tensor backend: auto (default / SDXS_BACKEND), ${C.listBackends().join(', ')}`;
}

/**
 * Select the backend named by --backend or SDXS_BACKEND (default 'auto'); unknown names are usage
 * errors. Probing is silent; one line on stderr names the backend chosen (not under --json or -q), and
 * --verbose adds the reasons for the backends `auto` passed over.
 */
export async function selectBackend(command: string, name: string | undefined, io: Pick<CliIo, 'env' | 'stderr'>, opts: SelectBackendOptions = {}): Promise<string> {
  const wanted = name ?? C.envBackend(io.env) ?? 'auto';
  if (wanted !== 'auto' && !C.listBackends().includes(wanted)) {
    throw new UsageError(`sdxs ${command}: unknown backend '${wanted}'; choose one of: auto, ${C.listBackends().join(', ')}`);
  }
  const compute = parseCompute(command, opts.compute, io.env);
  const b = await C.setBackend(wanted, { compute });
  if (!opts.json && !opts.quiet) {
    io.stderr.write(`sdxs ${command}: backend ${b.name}${wanted === 'auto' ? ' (auto)' : ''}${C.computeOf(b) !== 'float32' ? `, ${C.computeOf(b)} compute` : ''}\n`);
    if (opts.verbose && wanted === 'auto') {
      for (const p of C.probeReport()) {
        if (p.status === 'chosen') continue;
        io.stderr.write(`  ${p.name}: ${p.status}${p.reason ? `: ${p.reason.split('\n')[0]}` : ''}\n`);
        for (const line of p.log) io.stderr.write(`    | ${line.split('\n')[0]}\n`);
      }
    }
  }
  return b.name;
}
