import * as C from '@sdxs/core';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { bucketKey } from './buckets.js';
import { readDatasetIndex, type DatasetIndex, type DatasetItem } from './dataset-index.js';

export type CaptionKind = 'text' | 'tags';

export interface ReaderOptions {
  batchSize: number;
  /** Shuffle seed (default 0). */
  seed?: number;
  /** Drop each bucket's last incomplete batch (default false). */
  dropLast?: boolean;
  /** Which caption kind to use when an item has both (default 'random', drawn from the seed). */
  captionPreference?: 'random' | CaptionKind;
  /** Open shard files kept at once (default 8); older ones are closed. */
  maxOpenShards?: number;
  /** Load the full-size `image` field too (decoder targets). Default false. */
  loadImages?: boolean;
}

export interface ReaderState {
  seed: number;
  epoch: number;
  /** Index of the next batch within the epoch's plan. */
  cursor: number;
}

export interface DatasetBatch {
  epoch: number;
  /** Batch index within the epoch. */
  index: number;
  bucket: [number, number];
  items: DatasetItem[];
  /** The caption chosen for each item ('' when it has none). */
  captions: string[];
  captionKinds: (CaptionKind | null)[];
  /** [B, C, H/16, W/16] latents of the half-size images, when the dataset has them. */
  latents?: C.Tensor;
  /** [B, 3, H/2, W/2] half-size images in [-1, 1], when the dataset has no latents. */
  images?: C.Tensor;
  /** [B, 3, H, W] full-size images in [-1, 1] (with `loadImages`). */
  targets?: C.Tensor;
  /** [B, S, D] conditioning and [B, S] mask, when the dataset has them (the empty prompt's where an item has no caption). */
  cond?: C.Tensor;
  mask?: C.Tensor;
  dispose(): void;
}

interface PlannedBatch {
  items: number[];
  kinds: (CaptionKind | null)[];
}

/**
 * Streams batches from a converted dataset: every batch comes from one bucket; the order is reshuffled
 * each epoch from (seed, epoch), so a saved `getState()` restores the exact position. Only the index
 * (metadata) is held in memory; tensors are read from the shard files per batch, with a small LRU of
 * open files, so memory stays bounded whatever the dataset's size.
 */
export class DatasetReader {
  readonly dir: string;
  readonly index: DatasetIndex;
  readonly options: Required<ReaderOptions>;
  private state: ReaderState;
  private plan: PlannedBatch[] | null = null;
  private planEpoch = -1;
  private readonly open = new Map<string, Promise<C.SafetensorsFile>>();
  private uncond: { cond: Float32Array; mask: Float32Array; shape: [number, number] } | null | undefined;

  private constructor(dir: string, index: DatasetIndex, opts: ReaderOptions) {
    this.dir = dir;
    this.index = index;
    this.options = {
      batchSize: opts.batchSize,
      seed: opts.seed ?? 0,
      dropLast: opts.dropLast ?? false,
      captionPreference: opts.captionPreference ?? 'random',
      maxOpenShards: opts.maxOpenShards ?? 8,
      loadImages: opts.loadImages ?? false,
    };
    if (!(Number.isInteger(opts.batchSize) && opts.batchSize > 0)) throw new C.InputError(`batchSize must be a positive integer, got ${opts.batchSize}`);
    if (index.items.length === 0) throw new C.InputError(`${dir}: the dataset has no items`);
    this.state = { seed: this.options.seed, epoch: 0, cursor: 0 };
  }

  static async open(dir: string, opts: ReaderOptions): Promise<DatasetReader> {
    return new DatasetReader(path.resolve(dir), readDatasetIndex(dir), opts);
  }

  get size(): number {
    return this.index.items.length;
  }

  /** Batches in one epoch. */
  get batchesPerEpoch(): number {
    return this.epochPlan(this.state.epoch).length;
  }

  getState(): ReaderState {
    return { ...this.state };
  }

  setState(s: ReaderState): void {
    this.state = { ...s };
  }

  /** The batches of an epoch, as item indices (deterministic in seed and epoch). */
  epochPlan(epoch: number): PlannedBatch[] {
    if (this.plan && this.planEpoch === epoch) return this.plan;
    const rng = new C.RandomGenerator(((this.state.seed >>> 0) ^ Math.imul(epoch + 1, 0x9e3779b1)) >>> 0);
    const groups = new Map<string, number[]>();
    this.index.items.forEach((it, i) => {
      const k = bucketKey(it.bucket);
      if (!groups.has(k)) groups.set(k, []);
      groups.get(k)!.push(i);
    });
    const batches: PlannedBatch[] = [];
    for (const k of [...groups.keys()].sort()) {
      const g = shuffle(groups.get(k)!, rng);
      for (let s = 0; s < g.length; s += this.options.batchSize) {
        const items = g.slice(s, s + this.options.batchSize);
        if (items.length < this.options.batchSize && this.options.dropLast) continue;
        batches.push({ items, kinds: items.map((i) => this.pickKind(this.index.items[i]!, rng)) });
      }
    }
    if (batches.length === 0) throw new C.InputError(`no full batch of ${this.options.batchSize} in any bucket (dropLast)`);
    this.plan = shuffle(batches, rng);
    this.planEpoch = epoch;
    return this.plan;
  }

  private pickKind(it: DatasetItem, rng: C.RandomGenerator): CaptionKind | null {
    const has = (k: CaptionKind): boolean => it.captions[k] !== undefined;
    const coin = rng.uniform();
    const pref = this.options.captionPreference;
    if (has('text') && has('tags')) return pref === 'random' ? (coin < 0.5 ? 'text' : 'tags') : pref;
    return has('text') ? 'text' : has('tags') ? 'tags' : null;
  }

  /** The next batch (moving on to the next epoch at the end of one). The caller disposes it. */
  async next(): Promise<DatasetBatch> {
    let plan = this.epochPlan(this.state.epoch);
    if (this.state.cursor >= plan.length) {
      this.state = { ...this.state, epoch: this.state.epoch + 1, cursor: 0 };
      plan = this.epochPlan(this.state.epoch);
    }
    const pb = plan[this.state.cursor]!;
    const batch = await this.load(pb, this.state.epoch, this.state.cursor);
    this.state = { ...this.state, cursor: this.state.cursor + 1 };
    return batch;
  }

  private shardFile(name: string): Promise<C.SafetensorsFile> {
    let f = this.open.get(name);
    if (f) {
      this.open.delete(name);
      this.open.set(name, f);
      return f;
    }
    f = C.loadSafetensors(path.join(this.dir, name));
    this.open.set(name, f);
    while (this.open.size > this.options.maxOpenShards) {
      const [oldest, of] = this.open.entries().next().value as [string, Promise<C.SafetensorsFile>];
      this.open.delete(oldest);
      void of.then((x) => x.close()).catch(() => {});
    }
    return f;
  }

  private async readField(it: DatasetItem, field: string): Promise<C.SafetensorsTypedArray> {
    const f = await this.shardFile(it.shard);
    return f.readTyped(`${it.id}.${field}`);
  }

  private async loadUncond(): Promise<{ cond: Float32Array; mask: Float32Array; shape: [number, number] } | null> {
    if (this.uncond !== undefined) return this.uncond;
    const file = path.join(this.dir, 'uncond.safetensors');
    if (!existsSync(file)) return (this.uncond = null);
    const f = await C.loadSafetensors(file);
    try {
      const info = f.info('cond');
      const cond = C.f16ToF32((await f.readTyped('cond')) as Uint16Array);
      const mask = Float32Array.from((await f.readTyped('mask')) as Uint8Array);
      return (this.uncond = { cond, mask, shape: [info.shape[0]!, info.shape[1]!] });
    } finally {
      await f.close();
    }
  }

  private async load(pb: PlannedBatch, epoch: number, index: number): Promise<DatasetBatch> {
    const items = pb.items.map((i) => this.index.items[i]!);
    const B = items.length;
    const bucket = items[0]!.bucket;
    const [W, H] = bucket;
    const out: DatasetBatch = {
      epoch,
      index,
      bucket: [W, H],
      items,
      captions: items.map((it, k) => (pb.kinds[k] ? it.captions[pb.kinds[k]!] ?? '' : '')),
      captionKinds: pb.kinds,
      dispose() {
        for (const t of [out.latents, out.images, out.targets, out.cond, out.mask]) t?.dispose();
      },
    };
    try {
      if (items.every((it) => it.fields.includes('latent'))) {
        const parts = await Promise.all(items.map((it) => this.readField(it, 'latent')));
        const f = await this.shardFile(items[0]!.shard);
        const shape = f.info(`${items[0]!.id}.latent`).shape;
        out.latents = C.fromData(concatF32(parts as Float32Array[]), [B, ...shape], 'float32');
      } else if (items.every((it) => it.fields.includes('image_half'))) {
        const parts = await Promise.all(items.map((it) => this.readField(it, 'image_half')));
        out.images = C.fromData(bytesToUnit(parts as Uint8Array[]), [B, 3, H / 2, W / 2], 'float32');
      }
      if (this.options.loadImages && items.every((it) => it.fields.includes('image'))) {
        const parts = await Promise.all(items.map((it) => this.readField(it, 'image')));
        out.targets = C.fromData(bytesToUnit(parts as Uint8Array[]), [B, 3, H, W], 'float32');
      }
      const hasCond = items.some((it, k) => pb.kinds[k] && it.fields.includes(`cond.${pb.kinds[k]}`));
      const uncond = await this.loadUncond();
      if (hasCond || uncond) {
        const conds: Float32Array[] = [];
        const masks: Float32Array[] = [];
        let shape: [number, number] | null = uncond?.shape ?? null;
        for (let k = 0; k < B; k++) {
          const kind = pb.kinds[k];
          const it = items[k]!;
          if (kind && it.fields.includes(`cond.${kind}`)) {
            const c = C.f16ToF32((await this.readField(it, `cond.${kind}`)) as Uint16Array);
            conds.push(c);
            masks.push(Float32Array.from((await this.readField(it, `mask.${kind}`)) as Uint8Array));
            shape ??= [masks[k]!.length, c.length / masks[k]!.length];
          } else if (uncond) {
            conds.push(uncond.cond);
            masks.push(uncond.mask);
          } else {
            throw new C.InputError(`item ${it.source} has no '${kind ?? 'any'}' conditioning and the dataset has no uncond.safetensors`);
          }
        }
        out.cond = C.fromData(concatF32(conds), [B, shape![0], shape![1]], 'float32');
        out.mask = C.fromData(concatF32(masks), [B, shape![0]], 'float32');
      }
      return out;
    } catch (e) {
      out.dispose();
      throw e;
    }
  }

  async close(): Promise<void> {
    const files = [...this.open.values()];
    this.open.clear();
    await Promise.all(files.map((f) => f.then((x) => x.close()).catch(() => {})));
  }
}

function shuffle<T>(xs: T[], rng: C.RandomGenerator): T[] {
  const a = xs.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

function concatF32(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function bytesToUnit(parts: Uint8Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) for (let i = 0; i < p.length; i++) out[o++] = p[i]! / 127.5 - 1;
  return out;
}
