/**
 * Sharded checkpoints (`<base>.safetensors.index.json` with a `weight_map` from tensor name to shard
 * file) behind the same interface as a single file, and `openCheckpoint` to pick either form.
 */
import { clip, previewValue, SafetensorsError } from '../errors.js';
import { stripBom } from './config.js';
import type { FileRange } from './host-storage.js';
import { joinLocation, locationExists, parentLocation, readTextLocation, type Location } from './location.js';
import {
  loadSafetensors,
  type LoadSafetensorsOptions,
  type ReadOptions,
  type SafetensorsFile,
  type SafetensorsTensorInfo,
  type SafetensorsTypedArray,
} from './safetensors.js';

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Opens every shard named by an index JSON (path or URL) and checks each mapped tensor is there. */
export async function loadSafetensorsIndex(index: Location, opts: LoadSafetensorsOptions = {}): Promise<SafetensorsFile> {
  const file = String(index);
  let text: string | undefined;
  try {
    text = await readTextLocation(index, opts);
  } catch (e) {
    if (e instanceof Error && e.name === 'AbortError') throw e;
    throw new SafetensorsError(file, `cannot read index: ${(e as Error).message}`);
  }
  if (text === undefined) throw new SafetensorsError(file, 'index file not found');
  let json: unknown;
  try {
    json = JSON.parse(stripBom(text)); // one BOM rule for every JSON config (see stripBom)
  } catch (e) {
    throw new SafetensorsError(file, `index is not valid JSON (${clip((e as Error).message)})`);
  }
  if (!isPlainObject(json) || !isPlainObject(json.weight_map)) throw new SafetensorsError(file, 'index has no "weight_map" object');
  const weightMap = new Map<string, string>();
  for (const [name, shard] of Object.entries(json.weight_map)) {
    if (typeof shard !== 'string' || shard === '' || /^([\\/]|[a-z]+:)/i.test(shard) || shard.split(/[\\/]/).includes('..')) {
      throw new SafetensorsError(file, `weight_map entry ${previewValue(shard)} is not a relative shard file name`, name);
    }
    weightMap.set(name, shard);
  }
  const metadata: Record<string, string> = {};
  if (isPlainObject(json.metadata)) {
    for (const [k, v] of Object.entries(json.metadata)) metadata[k] = typeof v === 'string' ? v : previewValue(v, 10_000);
  }

  const dir = parentLocation(index);
  const shardNames = [...new Set(weightMap.values())];
  const settled = await Promise.allSettled(shardNames.map((s) => loadSafetensors(joinLocation(dir, s), opts)));
  const shards = new Map<string, SafetensorsFile>();
  settled.forEach((r, i) => r.status === 'fulfilled' && shards.set(shardNames[i]!, r.value));
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all([...shards.values()].map((s) => s.close().catch(() => {})));
    throw failed.reason;
  }
  for (const [name, shard] of weightMap) {
    const f = shards.get(shard)!;
    if (!f.has(name)) {
      await Promise.all([...shards.values()].map((s) => s.close().catch(() => {})));
      throw new SafetensorsError(file, `weight_map puts this tensor in '${shard}' but that shard does not hold it`, name);
    }
  }
  return new ShardedSafetensorsFile(file, metadata, weightMap, shards);
}

class ShardedSafetensorsFile implements SafetensorsFile {
  constructor(
    readonly file: string,
    readonly metadata: Record<string, string>,
    private readonly weightMap: Map<string, string>,
    private readonly shards: Map<string, SafetensorsFile>,
  ) {}

  private shardOf(name: string): SafetensorsFile {
    const shard = this.weightMap.get(name);
    if (shard === undefined) throw new SafetensorsError(this.file, 'no such tensor in this checkpoint', name);
    return this.shards.get(shard)!;
  }
  names(): string[] {
    return [...this.weightMap.keys()];
  }
  has(name: string): boolean {
    return this.weightMap.has(name);
  }
  info(name: string): SafetensorsTensorInfo {
    return this.shardOf(name).info(name);
  }
  async read(name: string, opts?: ReadOptions): Promise<Uint8Array> {
    return this.shardOf(name).read(name, opts);
  }
  async readTyped(name: string, opts?: ReadOptions): Promise<SafetensorsTypedArray> {
    return this.shardOf(name).readTyped(name, opts);
  }
  fileRange(name: string): FileRange | undefined {
    return this.shardOf(name).fileRange?.(name);
  }
  async close(): Promise<void> {
    await Promise.all([...this.shards.values()].map((s) => s.close()));
  }
}

/**
 * Opens `<dir>/<baseName>.safetensors`, or `<dir>/<baseName>.safetensors.index.json` when only the
 * sharded form exists (`dir` is a path or URL). A SafetensorsError names both when neither exists.
 */
export async function openCheckpoint(dir: Location, baseName: string, opts: LoadSafetensorsOptions = {}): Promise<SafetensorsFile> {
  const single = joinLocation(dir, `${baseName}.safetensors`);
  const index = joinLocation(dir, `${baseName}.safetensors.index.json`);
  if (await locationExists(single, opts)) return loadSafetensors(single, opts);
  if (await locationExists(index, opts)) return loadSafetensorsIndex(index, opts);
  throw new SafetensorsError(single, `checkpoint not found: neither '${single}' nor '${index}' exists`);
}
