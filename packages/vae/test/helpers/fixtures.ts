import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as C from '@sdxs/core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../../../..');
export const fixturesDir = process.env.SDXS_FIXTURES ?? path.resolve(repoRoot, '../shared/fixtures');
export const vaeTinyDir = path.join(fixturesDir, 'diffusers/vae-tiny');
export const imagesDir = path.resolve(fixturesDir, '../images');

/** Every tensor of a safetensors file as float32 tensors on the active backend. */
export async function readAll(file: string): Promise<Map<string, C.Tensor>> {
  const f = await C.loadSafetensors(file);
  const out = new Map<string, C.Tensor>();
  try {
    for (const name of f.names()) out.set(name, await C.readTensor(f, name));
  } finally {
    await f.close();
  }
  return out;
}

export interface Diff {
  maxAbs: number;
  /** max over elements of |a − b| − (atol + rtol·|b|); ≤ 0 means allclose */
  worstExcess: number;
  /** max |a − b| / max |b| (the float16 budget's measure) */
  rel: number;
}

export async function compare(actual: C.Tensor, expected: C.Tensor, atol: number, rtol: number): Promise<Diff> {
  if (actual.shape.join() !== expected.shape.join()) throw new Error(`shape [${actual.shape}] vs expected [${expected.shape}]`);
  const a = (await actual.data()) as Float32Array;
  const b = (await expected.data()) as Float32Array;
  let maxAbs = 0;
  let maxRef = 0;
  let worstExcess = -Infinity;
  for (let i = 0; i < a.length; i++) {
    maxRef = Math.max(maxRef, Math.abs(b[i]!));
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= maxAbs)) maxAbs = Number.isNaN(d) ? Infinity : d;
    const ex = d - (atol + rtol * Math.abs(b[i]!));
    if (ex > worstExcess || Number.isNaN(ex)) worstExcess = Number.isNaN(ex) ? Infinity : ex;
  }
  return { maxAbs, worstExcess, rel: maxRef ? maxAbs / maxRef : maxAbs };
}
