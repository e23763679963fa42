import path from 'node:path';
import * as C from '@sdxs/core';
import { fixturesDir } from '../../core/test-utils/index.js';

export const diffusersCase = (name: string): string => path.join(fixturesDir(), 'diffusers', name);

export async function readAll(file: string): Promise<Map<string, C.Tensor>> {
  const f = await C.loadSafetensors(file);
  const m = new Map<string, C.Tensor>();
  for (const n of f.names()) m.set(n, await C.readTensor(f, n));
  await f.close();
  return m;
}

export async function host(t: C.Tensor): Promise<Float32Array> {
  return (await t.data()) as Float32Array;
}
