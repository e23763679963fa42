import * as C from '@sdxs/core';
import { UsageError } from './cli-error.js';
import type { CliIo } from './io.js';

export interface SelectBackendOptions {
  /** machine-readable output: print nothing */
  json?: boolean;
  quiet?: boolean;
  /** also print what `auto` tried and why each skipped backend was skipped */
  verbose?: boolean;
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
  const wanted = name ?? io.env.SDXS_BACKEND ?? 'auto';
  if (wanted !== 'auto' && !C.listBackends().includes(wanted)) {
    throw new UsageError(`sdxs ${command}: unknown backend '${wanted}'; choose one of: auto, ${C.listBackends().join(', ')}`);
  }
  const b = await C.setBackend(wanted);
  if (!opts.json && !opts.quiet) {
    io.stderr.write(`sdxs ${command}: backend ${b.name}${wanted === 'auto' ? ' (auto)' : ''}\n`);
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
