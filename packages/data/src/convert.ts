import * as C from '@sdxs/core';
import { DEFAULT_MAX_IMAGE_PIXELS } from '@sdxs/vae';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { bucketSizes, nearestBucket, type BucketConfig } from './buckets.js';
import { readManifest, sidecarCaptions, type Captions } from './captions.js';
import { listParts, mergeDatasetIndex, readPart, writeJsonAtomic, INDEX_VERSION, type DatasetIndex, type DatasetInfo, type DatasetItem, type DatasetReport, type PartFile, type SkippedItem } from './dataset-index.js';
import { encodeLatent, encodeText, hwcToChw, type TextEncoderLike, type VaeEncoderLike } from './precompute.js';
import { inShard, listImages } from './scan.js';
import { WorkerPool, type ProbeResult } from './worker-pool.js';

export interface ConvertOptions {
  /** Input folder of images (recursive) with sidecar captions. */
  in: string;
  /** Output dataset folder. */
  out: string;
  /** CSV or JSONL manifest (default: `metadata.csv` / `metadata.jsonl` in the input folder when present). */
  manifest?: string;
  buckets?: BucketConfig;
  /** Process only the sources assigned to machine `index` of `count` (by a hash of the path). */
  shard?: { index: number; count: number };
  /** Decode/resize threads (default: available cores, at most 8). */
  workers?: number;
  precompute?: { vae?: VaeEncoderLike; textEncoder?: TextEncoderLike };
  /** Also store the full-size image (the VAE decoder's target). Default false. */
  keepImages?: boolean;
  /** Images whose shorter side is below this are skipped as tiny (default: half the smallest bucket side). */
  minImageSide?: number;
  /** Skip images without any caption (default false: they train as the empty prompt). */
  requireCaption?: boolean;
  /** Images whose header claims more pixels are skipped as corrupt before decoding (default DEFAULT_MAX_IMAGE_PIXELS of @sdxs/vae, 8192x8192). */
  maxImagePixels?: number;
  /** Image files larger than this (bytes) are skipped before they are read (default: maxImageBytesFor(maxImagePixels) of @sdxs/vae). */
  maxImageBytes?: number;
  /** Items per part file (default 64). */
  itemsPerShard?: number;
  onProgress?: (p: { done: number; total: number; skipped: number }) => void;
  signal?: AbortSignal;
}

export interface ConvertResult {
  /** Items and skips processed in this call (resumed parts not counted). */
  processed: number;
  skipped: number;
  index: DatasetIndex;
  report: DatasetReport;
}

interface Candidate {
  source: string;
  abs: string;
  captions: Captions;
}

function partName(shard: { index: number; count: number }, n: number): string {
  const m = shard.count > 1 ? `s${String(shard.index).padStart(3, '0')}of${String(shard.count).padStart(3, '0')}-` : '';
  return `part-${m}${String(n).padStart(5, '0')}`;
}

/**
 * Converts a folder of captioned images into bucketed, sharded safetensors (see dataset-index.ts for
 * the layout). Resumable: parts already written are skipped, by source. Decoding and resizing run in
 * worker threads; the VAE and text encoder run on the calling thread's backend.
 */
export async function convertDataset(opts: ConvertOptions): Promise<ConvertResult> {
  const inDir = path.resolve(opts.in);
  const outDir = path.resolve(opts.out);
  mkdirSync(outDir, { recursive: true });
  await C.removeStaleTempFiles(outDir);
  const shard = opts.shard ?? { index: 0, count: 1 };
  if (!(Number.isInteger(shard.index) && shard.count >= 1 && shard.index >= 0 && shard.index < shard.count)) {
    throw new C.InputError(`shard ${shard.index}/${shard.count} is invalid`);
  }
  const buckets = bucketSizes(opts.buckets);
  const minSide = opts.minImageSide ?? Math.floor(Math.min(...buckets.flat()) / 2);
  const perPart = opts.itemsPerShard ?? 64;
  const vae = opts.precompute?.vae;
  const textEncoder = opts.precompute?.textEncoder;
  const keepImages = opts.keepImages ?? false;

  // Captions: sidecars, overridden by a manifest.
  const manifestFile = opts.manifest ?? ['metadata.csv', 'metadata.jsonl'].map((f) => path.join(inDir, f)).find((f) => existsSync(f));
  const manifest = manifestFile ? readManifest(manifestFile, inDir) : new Map<string, Captions>();
  const all = listImages(inDir, outDir).filter((s) => inShard(s, shard.index, shard.count));

  // Resume: sources covered by finished parts of this machine, and the hashes already kept.
  const prefix = partName(shard, 0).slice(0, -5);
  const myParts = listParts(outDir).filter((p) => p.startsWith(prefix) && /^\d{5}\.json$/.test(p.slice(prefix.length)));
  const done = new Set<string>();
  const seen = new Map<string, string>();
  let nextPart = 0;
  for (const p of myParts) {
    const part = readPart(outDir, p);
    for (const s of part.sources) done.add(s);
    for (const it of part.items) seen.set(it.hash, it.source);
    nextPart = Math.max(nextPart, Number(p.slice(prefix.length, prefix.length + 5)) + 1);
  }
  const todo: Candidate[] = all
    .filter((s) => !done.has(s))
    .map((s) => ({ source: s, abs: path.join(inDir, s), captions: { ...sidecarCaptions(path.join(inDir, s)), ...manifest.get(s) } }));

  const info: DatasetInfo = { buckets: buckets.map(([w, h]) => [w, h]) };
  let processed = 0;
  let skippedCount = 0;
  const maxPixels = opts.maxImagePixels ?? DEFAULT_MAX_IMAGE_PIXELS;
  const pool = new WorkerPool(opts.workers ?? Math.min(8, availableParallelism()), maxPixels, opts.maxImageBytes);
  try {
    if (textEncoder && !existsSync(path.join(outDir, 'uncond.safetensors'))) {
      const u = await encodeText(textEncoder, '');
      await C.saveSafetensors(path.join(outDir, 'uncond.safetensors'), {
        cond: { dtype: 'F16', shape: u.shape, data: u.states },
        mask: { dtype: 'U8', shape: [u.shape[0]], data: u.mask },
      });
    }
    for (let start = 0; start < todo.length; start += perPart) {
      C.throwIfAborted(opts.signal);
      const batch = todo.slice(start, start + perPart);
      const name = partName(shard, nextPart++);
      const probes = await Promise.all(batch.map((c) => pool.probe(c.abs).then((r): ProbeResult | Error => r, (e: Error) => e)));
      const skipped: SkippedItem[] = [];
      const kept: { c: Candidate; p: ProbeResult; bucket: [number, number] }[] = [];
      batch.forEach((c, i) => {
        const p = probes[i]!;
        if (p instanceof Error) skipped.push({ source: c.source, reason: 'corrupt', detail: p.message });
        else if (Math.min(p.width, p.height) < minSide) skipped.push({ source: c.source, reason: 'tiny', detail: `${p.width}x${p.height} < ${minSide}` });
        else if (seen.has(p.hash)) skipped.push({ source: c.source, reason: 'duplicate', duplicateOf: seen.get(p.hash)! });
        else if (opts.requireCaption && !c.captions.text && !c.captions.tags) skipped.push({ source: c.source, reason: 'no-caption' });
        else {
          seen.set(p.hash, c.source);
          const b = nearestBucket(p.width, p.height, buckets, opts.buckets?.ratioTolerance);
          kept.push({ c, p, bucket: [b[0], b[1]] });
        }
      });
      const resized = await Promise.all(
        kept.map(({ c, bucket: [w, h] }) => {
          const sizes: [number, number][] = [[w / 2, h / 2]];
          if (keepImages) sizes.push([w, h]);
          return pool.resize(c.abs, sizes).then((r) => r, (e: Error) => e);
        }),
      );
      const tensors: C.SafetensorsTensorMap = {};
      const items: DatasetItem[] = [];
      for (let k = 0; k < kept.length; k++) {
        C.throwIfAborted(opts.signal);
        const { c, p, bucket } = kept[k]!;
        const r = resized[k]!;
        if (r instanceof Error) {
          skipped.push({ source: c.source, reason: 'corrupt', detail: r.message });
          seen.delete(p.hash);
          continue;
        }
        const id = p.hash.slice(0, 16);
        const [w, h] = bucket;
        const fields: string[] = [];
        if (vae) {
          const z = await encodeLatent(vae, r.images[0]!, w / 2, h / 2);
          tensors[`${id}.latent`] = { dtype: 'F32', shape: z.shape, data: z.data };
          info.latentSpace = z.normalized ? 'normalized' : 'raw';
          info.latentChannels = z.shape[0];
          fields.push('latent');
        } else {
          tensors[`${id}.image_half`] = { dtype: 'U8', shape: [3, h / 2, w / 2], data: hwcToChw(r.images[0]!, w / 2, h / 2) };
          fields.push('image_half');
        }
        if (keepImages) {
          tensors[`${id}.image`] = { dtype: 'U8', shape: [3, h, w], data: hwcToChw(r.images[1]!, w, h) };
          fields.push('image');
        }
        if (textEncoder) {
          for (const kind of ['text', 'tags'] as const) {
            const prompt = c.captions[kind];
            if (prompt === undefined) continue;
            const e = await encodeText(textEncoder, prompt);
            tensors[`${id}.cond.${kind}`] = { dtype: 'F16', shape: e.shape, data: e.states };
            tensors[`${id}.mask.${kind}`] = { dtype: 'U8', shape: [e.shape[0]], data: e.mask };
            info.condShape = e.shape;
            fields.push(`cond.${kind}`, `mask.${kind}`);
          }
        }
        items.push({ id, source: c.source, hash: p.hash, bucket, size: [p.width, p.height], ...(p.pages > 1 ? { frames: p.pages } : {}), captions: c.captions, shard: `${name}.safetensors`, fields });
      }
      if (items.length > 0) await C.saveSafetensors(path.join(outDir, `${name}.safetensors`), tensors, { format: 'sdxs-dataset' });
      const part: PartFile = { version: INDEX_VERSION, part: name, sources: batch.map((c) => c.source), items, skipped };
      writeJsonAtomic(path.join(outDir, `${name}.json`), part);
      processed += batch.length;
      skippedCount += skipped.length;
      opts.onProgress?.({ done: processed, total: todo.length, skipped: skippedCount });
    }
  } finally {
    await pool.close();
  }
  const { index, report } = mergeDatasetIndex(outDir, mergeInfo(outDir, info));
  return { processed, skipped: skippedCount, index, report };
}

/** Keeps facts learnt by an earlier (resumed) run when this run saw no item that sets them. */
function mergeInfo(outDir: string, info: DatasetInfo): DatasetInfo {
  const file = path.join(outDir, 'info.json');
  if (!existsSync(file)) return info;
  try {
    const prev = JSON.parse(readFileSync(file, 'utf8')) as DatasetInfo;
    return { ...prev, ...Object.fromEntries(Object.entries(info).filter(([, v]) => v !== undefined)), buckets: info.buckets };
  } catch {
    return info;
  }
}
