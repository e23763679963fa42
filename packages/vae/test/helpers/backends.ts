/**
 * Runs a suite once per tensor backend. Uses @sdxs/core's test-utils `forEachBackend` when present;
 * otherwise iterates the same list itself, skipping (with the printed reason) backends that are absent.
 */
import { describe, test } from 'vitest';
import * as C from '@sdxs/core';

export const BACKENDS = ['cpu', 'tfjs-cpu', 'tfjs-wasm', 'tfjs-webgpu'] as const;

export function forEachBackend(title: string, body: (backend: string) => void): void {
  for (const name of BACKENDS) {
    const registered = C.listBackends().includes(name);
    if (!registered) {
      describe(`${title} [${name}]`, () => {
        test.skip(`backend '${name}' is not registered in @sdxs/core`, () => {});
      });
      continue;
    }
    describe(`${title} [${name}]`, () => body(name));
  }
}

/** Selects `name`, or returns the reason it is unavailable. */
export async function useBackend(name: string): Promise<string | null> {
  if (!(await C.isBackendAvailable(name))) return (await C.backendFailure(name)) ?? 'unavailable';
  await C.setBackend(name);
  return null;
}
