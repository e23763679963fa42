/**
 * Captioning a folder of images that have no captions, with a vision-language model (the SDXS refiner looking
 * at each picture): every image without a caption (no sidecar file, no manifest entry) gets `name.caption.txt`,
 * the natural-text sidecar that `sdxs data convert` reads. Images that already have one are left alone, so a
 * rerun continues where an interrupted one stopped.
 */
import * as C from '@sdxs/core';
import { existsSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { readImage } from '@sdxs/vae/node';
import { readManifest, sidecarCaptions } from './captions.js';
import { listImages } from './scan.js';

/** What captions one picture (PromptRefiner with its vision tower fits: `refine({ image, text })`). */
export interface ImageCaptioner {
  refine(prompt: { image: { data: Uint8Array; width: number; height: number; channels?: number }; text?: string }, options?: { seed?: number; maxNewTokens?: number; instruction?: string; signal?: AbortSignal }): Promise<string>;
}

export interface CaptionFolderOptions {
  in: string;
  captioner: ImageCaptioner;
  /** captions manifest (default: metadata.csv / metadata.jsonl in `in`); its entries count as captions */
  manifest?: string;
  /** caption images that already have captions too (their .caption.txt is replaced) */
  overwrite?: boolean;
  /** text after the captioning instruction, for every image */
  text?: string;
  instruction?: string;
  maxNewTokens?: number;
  /** image i uses seed + i (default 0: reproducible) */
  seed?: number;
  maxImagePixels?: number;
  signal?: AbortSignal;
  onProgress?: (p: { done: number; total: number; file: string }) => void;
}

export interface CaptionFolderResult {
  /** images captioned now (relative paths) */
  captioned: string[];
  /** images that already had a caption */
  kept: string[];
  /** images that could not be read, with the reason */
  failed: { file: string; reason: string }[];
}

function defaultManifest(root: string): string | undefined {
  for (const f of ['metadata.csv', 'metadata.jsonl']) if (existsSync(path.join(root, f))) return path.join(root, f);
  return undefined;
}

export async function captionFolder(o: CaptionFolderOptions): Promise<CaptionFolderResult> {
  if (!existsSync(o.in)) throw new C.ArgumentError(`--in ${o.in}: no such folder`);
  const files = listImages(o.in);
  const manifestFile = o.manifest ?? defaultManifest(o.in);
  const manifest = manifestFile ? readManifest(manifestFile, o.in) : new Map();
  const result: CaptionFolderResult = { captioned: [], kept: [], failed: [] };
  const seed0 = o.seed ?? 0;
  for (const [i, rel] of files.entries()) {
    C.throwIfAborted(o.signal);
    const abs = path.join(o.in, rel);
    const have = { ...sidecarCaptions(abs), ...(manifest.get(rel) ?? {}) };
    if (!o.overwrite && (have.text || have.tags)) {
      result.kept.push(rel);
      continue;
    }
    let image;
    try {
      image = await readImage(abs, { maxPixels: o.maxImagePixels });
    } catch (e) {
      result.failed.push({ file: rel, reason: (e as Error).message });
      continue;
    }
    const data = image.data instanceof Uint16Array ? Uint8Array.from(image.data, (x) => Math.round(x / 257)) : image.data;
    const caption = await o.captioner.refine(
      { image: { data, width: image.width, height: image.height, channels: image.channels }, text: o.text },
      { seed: seed0 + i, maxNewTokens: o.maxNewTokens, instruction: o.instruction, signal: o.signal },
    );
    if (!caption.trim()) {
      result.failed.push({ file: rel, reason: 'the model wrote an empty caption' });
      continue;
    }
    const out = `${abs.slice(0, abs.length - path.extname(abs).length)}.caption.txt`;
    await writeFile(`${out}.tmp`, `${caption.trim()}\n`);
    await rename(`${out}.tmp`, out);
    result.captioned.push(rel);
    o.onProgress?.({ done: result.captioned.length, total: files.length, file: rel });
  }
  return result;
}
