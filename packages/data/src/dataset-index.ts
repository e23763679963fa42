/**
 * The on-disk layout of a converted dataset:
 * - `part-*.safetensors`: tensors of up to `itemsPerShard` items, named `<id>.<field>`;
 * - `part-*.json`: the items and skipped files of that part (written after its safetensors, so a part
 *   whose JSON exists is complete: this is what resuming checks);
 * - `index.json`: all items (merged from the parts), `report.json`: everything skipped and why;
 * - `info.json`: latent space and shapes; `uncond.safetensors`: the empty prompt's conditioning (`cond`, `mask`) when a text encoder was given.
 * Fields: `latent` F32 [C, h, w] (VAE latent of the half-size image), `image_half` U8 [3, H/2, W/2]
 * (when no VAE was given), `image` U8 [3, H, W] (full bucket size, the decoder target, with
 * `keepImages`), `cond.text` / `cond.tags` F16 [S, D] and `mask.text` / `mask.tags` U8 [S].
 */
import { existsSync, readdirSync, readFileSync, writeFileSync, renameSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { InputError } from '@sdxs/core';
import type { Captions } from './captions.js';

export const INDEX_VERSION = 1;

export interface DatasetItem {
  /** First 16 hex digits of the source's sha256; tensor names start with it. */
  id: string;
  /** Path relative to the input folder (forward slashes). */
  source: string;
  /** Full sha256 of the source file. */
  hash: string;
  /** [width, height] of the bucket (full size; training runs at half). */
  bucket: [number, number];
  /** Source size after EXIF orientation. */
  size: [number, number];
  /** Frames (animated WebP/GIF) or pages (TIFF) of the source, when more than one: only the first is used. */
  frames?: number;
  captions: Captions;
  /** Safetensors file (relative to the dataset folder) holding the item's tensors. */
  shard: string;
  /** Field names present for this item. */
  fields: string[];
}

export interface SkippedItem {
  source: string;
  reason: 'corrupt' | 'tiny' | 'duplicate' | 'no-caption' | 'error';
  detail?: string;
  duplicateOf?: string;
}

export interface PartFile {
  version: number;
  part: string;
  sources: string[];
  items: DatasetItem[];
  skipped: SkippedItem[];
}

export interface DatasetInfo {
  /** 'normalized' when latents were mapped with the VAE's latents_mean/std, 'raw' otherwise. */
  latentSpace?: 'normalized' | 'raw';
  latentChannels?: number;
  /** Hidden size and length of the text conditioning. */
  condShape?: [number, number];
  buckets: [number, number][];
}

export interface DatasetIndex extends DatasetInfo {
  version: number;
  items: DatasetItem[];
}

export interface DatasetReport {
  items: number;
  skipped: SkippedItem[];
  counts: Record<string, number>;
}

export function writeJsonAtomic(file: string, value: unknown): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(value, null, 1));
  renameSync(tmp, file);
}

export function listParts(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /^part-.*\.json$/.test(f))
    .sort();
}

export function readPart(dir: string, name: string): PartFile {
  return JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as PartFile;
}

/**
 * Merges every finished part (from all machines) into `index.json` and `report.json`. A content
 * duplicate found across machines is dropped from the index (the first source in path order stays)
 * and listed in the report.
 */
export function mergeDatasetIndex(dir: string, info?: DatasetInfo): { index: DatasetIndex; report: DatasetReport } {
  const infoFile = path.join(dir, 'info.json');
  if (info) writeJsonAtomic(infoFile, info);
  else if (existsSync(infoFile)) info = JSON.parse(readFileSync(infoFile, 'utf8')) as DatasetInfo;
  else throw new Error(`${infoFile} not found: not a converted dataset folder`);
  const items: DatasetItem[] = [];
  const skipped: SkippedItem[] = [];
  for (const p of listParts(dir)) {
    const part = readPart(dir, p);
    items.push(...part.items);
    skipped.push(...part.skipped);
  }
  items.sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : 0));
  const seen = new Map<string, string>();
  const kept: DatasetItem[] = [];
  for (const it of items) {
    const first = seen.get(it.hash);
    if (first !== undefined) skipped.push({ source: it.source, reason: 'duplicate', duplicateOf: first });
    else {
      seen.set(it.hash, it.source);
      kept.push(it);
    }
  }
  skipped.sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : 0));
  const index: DatasetIndex = { version: INDEX_VERSION, ...info, items: kept };
  const counts: Record<string, number> = {};
  for (const s of skipped) counts[s.reason] = (counts[s.reason] ?? 0) + 1;
  const report: DatasetReport = { items: kept.length, skipped, counts };
  writeJsonAtomic(path.join(dir, 'index.json'), index);
  writeJsonAtomic(path.join(dir, 'report.json'), report);
  return { index, report };
}

/** The dataset's index.json; a missing folder, a file where the folder belongs, or a missing/unreadable index is an InputError. */
export function readDatasetIndex(dir: string): DatasetIndex {
  let st: Stats;
  try {
    st = statSync(dir);
  } catch {
    throw new InputError(`${dir}: no such dataset folder; make one with 'sdxs data convert --in <images> --out ${dir}'`);
  }
  if (!st.isDirectory()) throw new InputError(`${dir}: is a file, not a dataset folder (a folder made by 'sdxs data convert')`);
  const file = path.join(dir, 'index.json');
  if (!existsSync(file)) throw new InputError(`${file} not found: not a converted dataset folder; convert the dataset first (sdxs data convert)`);
  let idx: DatasetIndex;
  try {
    idx = JSON.parse(readFileSync(file, 'utf8')) as DatasetIndex;
  } catch (e) {
    throw new InputError(`${file}: not a readable dataset index (${(e as Error).message}); convert the dataset again (sdxs data convert)`);
  }
  if (typeof idx !== 'object' || idx === null || !Array.isArray(idx.items)) throw new InputError(`${file}: not a dataset index (no items list); convert the dataset again`);
  if (idx.version !== INDEX_VERSION) throw new InputError(`${file}: index version ${String(idx.version)}, this reader supports ${INDEX_VERSION}`);
  return idx;
}
