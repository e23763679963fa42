import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as C from '@sdxs/core';

/** The repository root (this file is packages/core/test-utils/fixtures.ts). */
export const repoRoot = (): string => path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Shared fixtures: $SDXS_FIXTURES, else <repo>/../shared/fixtures (the folder beside the clone in CI). */
export function fixturesDir(): string {
  return process.env.SDXS_FIXTURES ?? path.resolve(repoRoot(), '../shared/fixtures');
}

/** A diffusers fixture case folder, e.g. diffusersCase('unet-tiny'). */
export const diffusersCase = (name: string): string => path.join(fixturesDir(), 'diffusers', name);

/** Every tensor of a safetensors file (fixture io/intermediates), as float32 tensors on the active backend. */
export async function readAll(file: string): Promise<Map<string, C.Tensor>> {
  const f = await C.loadSafetensors(file);
  const m = new Map<string, C.Tensor>();
  for (const n of f.names()) m.set(n, await C.readTensor(f, n));
  await f.close();
  return m;
}

/** A float32 tensor's values. */
export async function host(t: C.Tensor): Promise<Float32Array> {
  return (await t.data()) as Float32Array;
}
