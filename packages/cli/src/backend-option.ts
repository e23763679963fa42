import * as C from '@sdxs/core';
import { UsageError } from './cli-error.js';

/** Select the backend named by --backend or SDXS_BACKEND (default 'auto'); unknown names are usage errors. */
export async function selectBackend(command: string, name: string | undefined, env: NodeJS.ProcessEnv): Promise<string> {
  const wanted = name ?? env.SDXS_BACKEND ?? 'auto';
  if (wanted !== 'auto' && !C.listBackends().includes(wanted)) {
    throw new UsageError(`sdxs ${command}: unknown backend '${wanted}'; choose one of: auto, ${C.listBackends().join(', ')}`);
  }
  const b = await C.setBackend(wanted);
  return b.name;
}
