/** The VAE quality report over a folder of images (Node: files through sharp). */
import fs from 'node:fs/promises';
import path from 'node:path';
import * as C from '@sdxs/core';
import type { AsymmetricAutoencoderKL } from '../autoencoder.js';
import { evaluateVae, summarizeVaeScores, type VaeEvalOptions, type VaeEvalReport } from '../eval/quality.js';
import { IMAGE_EXTENSIONS, readImage } from './image-io.js';

/** Image files of a folder (not recursive), sorted by name. */
export async function listImages(folder: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.readdir(folder);
  } catch (e) {
    throw new C.InputError(`${folder}: cannot list the folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const files = names.filter((n) => (IMAGE_EXTENSIONS as readonly string[]).includes(path.extname(n).toLowerCase())).sort();
  if (!files.length) throw new C.InputError(`${folder}: no images (${IMAGE_EXTENSIONS.join(', ')})`);
  return files.map((n) => path.join(folder, n));
}

/** Score a VAE on every image of a folder, one image in memory at a time. */
export async function evaluateVaeFolder(vae: AsymmetricAutoencoderKL, folder: string, opts: VaeEvalOptions = {}): Promise<VaeEvalReport> {
  const files = await listImages(folder);
  const scores: VaeEvalReport['images'] = [];
  let lpipsReason: string | null = null;
  for (const [i, file] of files.entries()) {
    const image = await readImage(file);
    const one = await evaluateVae(vae, [{ name: path.basename(file), image }], { ...opts, onProgress: undefined });
    scores.push(...one.images);
    lpipsReason = one.lpipsReason;
    opts.onProgress?.({ done: i + 1, total: files.length, name: path.basename(file) });
  }
  return summarizeVaeScores(opts.mode ?? 'reconstruct', scores, lpipsReason);
}
