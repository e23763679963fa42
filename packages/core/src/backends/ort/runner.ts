/**
 * Compiles segments to ONNX Runtime sessions and runs them. Sessions are cached by the segment's key
 * (ops, attributes, shapes and weight identities), so a model's forward compiles once per input shape and
 * every later call with that shape only runs. Weights are handed over in memory, without a copy in the
 * protobuf; a disposed weight drops the sessions that hold it.
 */
import { envOrtCacheBytes } from '../../env.js';
import { CheckpointError, SdxsError } from '../../errors.js';
import { checkUnchanged } from '../../io/host-storage.js';
import { bf16ToF32, f16ToF32 } from '../../io/half.js';
import type { SegmentRunner } from '../../graph/lazy-backend.js';
import type { HostArray, LazyValue, SegmentOutput } from '../../graph/lazy-value.js';
import * as P from '../../onnx/proto.js';
import type { Segment } from '../../graph/segment.js';
import { type FileWeight, int8OnlyWeightsOf, lowerSegment, type LowerOptions } from '../../onnx/lower.js';
import { forgetInt8 } from '../../onnx/int8.js';
import { emitCompileEvent } from './events.js';
import type { OrtFeed, OrtRuntime, OrtSession, SessionSource } from './runtime.js';

interface Entry {
  session: OrtSession;
  inputNames: string[];
  outputNames: string[];
  weights: Set<LazyValue>;
  /** float32 bytes of its weights (what the runtime holds for it) */
  bytes: number;
}

/** In-memory weights put inline beside file-backed ones, at most (the protobuf itself is limited to 2 GiB). */
const INLINE_MAX_BYTES = 256 * 2 ** 20;

interface WeightFiles {
  weights: ReadonlyMap<LazyValue, FileWeight>;
  dir: string | undefined;
}

export interface OrtRunnerOptions extends LowerOptions {
  /** Sessions kept (least recently used are dropped first); default 64. */
  maxSessions?: number;
  /**
   * Weight bytes the kept sessions may hold together (each session holds its own prepared copy of its
   * weights); default SDXS_ORT_CACHE_BYTES, else 40% of the machine's memory in Node and 2 GiB elsewhere.
   * The newest session is always kept.
   */
  maxBytes?: number;
}

function defaultMaxBytes(): number {
  const env = envOrtCacheBytes();
  if (env !== undefined) return env;
  const os = (globalThis as { process?: { getBuiltinModule?: (m: string) => { totalmem(): number } | undefined } }).process?.getBuiltinModule?.('node:os');
  return os ? 0.4 * os.totalmem() : 2 ** 31;
}

/** Bytes the runtime holds for a session's weights: 2 per value in float16 graphs, 4 in float32 ones (16-bit weights folded to float32 at load on the CPU). */
const weightBytes = (ws: readonly LazyValue[], compute: 'float16' | 'float32' = 'float32'): number =>
  ws.reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1) * (compute === 'float16' ? 2 : 4), 0);

export class OrtRunner implements SegmentRunner {
  private readonly cache = new Map<string, Entry>();
  private readonly maxSessions: number;
  private readonly maxBytes: number;

  constructor(
    readonly backendName: string,
    private readonly rt: OrtRuntime,
    private readonly opts: OrtRunnerOptions = {},
  ) {
    this.maxSessions = opts.maxSessions ?? 64;
    this.maxBytes = opts.maxBytes ?? defaultMaxBytes();
  }

  private lower(seg: Segment, files: WeightFiles): { src: SessionSource; inputNames: string[]; outputNames: string[] } {
    const m = lowerSegment(seg, { ...this.opts, fileWeights: files.weights, inlineWeights: files.weights.size > 0 });
    const halfWeights = (this.opts.compute ?? 'float32') === 'float32' && seg.constants.some((w) => w.storage);
    return {
      src: { bytes: m.bytes, externalData: m.externalData, sharedWeights: m.sharedWeights, halfWeights, weightsDir: files.dir },
      inputNames: m.inputNames,
      outputNames: m.outputNames,
    };
  }

  /**
   * Which weights the session reads from their files (onnxruntime-node: 16-bit weights of local safetensors
   * files in one folder, unchanged since they were loaded); every other 16-bit value is brought into host memory
   * first, to be handed over in memory.
   */
  private async weightFiles(seg: Segment): Promise<WeightFiles> {
    const weights = new Map<LazyValue, FileWeight>();
    let dir: string | undefined;
    const checked = new Set<string>();
    // weights the graph holds as int8 are quantized on the host and handed over in memory (1 byte a value)
    const int8 = this.opts.int8 ? int8OnlyWeightsOf(seg, this.opts) : new Set<LazyValue>();
    if (this.rt.fileWeights) {
      for (const w of seg.constants) {
        const f = w.storage?.source?.file;
        if (!f || int8.has(w)) continue;
        const slash = Math.max(f.path.lastIndexOf('/'), f.path.lastIndexOf('\\'));
        const folder = f.path.slice(0, slash);
        dir ??= folder;
        if (folder !== dir) continue;
        // one look at each file per compile (a UNet's 1490 weights lie in one file)
        if (!checked.has(f.path)) checkUnchanged(f, w.storage!.source!.where);
        checked.add(f.path);
        weights.set(w, { location: f.path.slice(slash + 1), offset: f.offset, length: f.length });
      }
    }
    // ONNX Runtime takes external data from files or from memory, not both: with file weights, the rest go
    // inline in the protobuf, unless they are large (then every weight is handed over in memory)
    const inMemory = seg.constants.filter((w) => !weights.has(w)).reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1) * (int8.has(w) ? 1 : w.storage ? 2 : 4), 0);
    if (inMemory > INLINE_MAX_BYTES) weights.clear();
    await Promise.all([...seg.constants, ...seg.inputs].filter((v) => v.storage && !weights.has(v)).map((v) => v.storage!.load()));
    return { weights, dir: weights.size ? dir : undefined };
  }

  private hit(seg: Segment): Entry | null {
    const e = this.cache.get(seg.key);
    if (!e) return null;
    this.cache.delete(seg.key);
    this.cache.set(seg.key, e);
    return e;
  }

  private heldBytes(): number {
    let n = 0;
    for (const e of this.cache.values()) n += e.bytes;
    return n;
  }

  /** Make room for a session holding `bytes` of weights: drop the least recently used ones first. */
  private evictFor(bytes: number): void {
    while (this.cache.size && (this.cache.size >= this.maxSessions || this.heldBytes() + bytes > this.maxBytes)) {
      const [k, old] = this.cache.entries().next().value as [string, Entry];
      this.cache.delete(k);
      old.session.dispose();
    }
  }

  /** Keep a new session (`evictFor` made room for it before it was created). */
  private store(seg: Segment, e: Entry): Entry {
    this.cache.set(seg.key, e);
    return e;
  }

  private fail(seg: Segment, e: unknown, what: string): never {
    const ops = new Map<string, number>();
    for (const n of seg.nodes) ops.set(n.op!, (ops.get(n.op!) ?? 0) + 1);
    const summary = [...ops].map(([k, n]) => `${k}x${n}`).join(' ');
    throw new SdxsError('UNSUPPORTED', `${this.backendName}: ${what} '${seg.label}' (${seg.nodes.length} ops: ${summary}) failed: ${(e as Error).message}`, { cause: e });
  }

  /** Lower a segment and make room for it; `finish` stores the session the runtime made from `src`. */
  private async begin(seg: Segment): Promise<{ src: SessionSource; finish: (session: OrtSession) => Entry }> {
    const t0 = performance.now();
    const { src, inputNames, outputNames } = this.lower(seg, await this.weightFiles(seg));
    const event = { backend: this.backendName, label: seg.label, ops: seg.nodes.length, weights: seg.constants.length };
    emitCompileEvent({ ...event, phase: 'start', ms: 0 });
    const bytes = weightBytes(seg.constants, this.opts.compute);
    this.evictFor(bytes);
    const finish = (session: OrtSession): Entry => {
      emitCompileEvent({ ...event, phase: 'end', ms: performance.now() - t0 });
      // the session holds its own copy now: weights that can be read again leave host memory
      for (const w of seg.constants) w.storage?.release();
      return this.store(seg, { session, inputNames, outputNames, weights: new Set(seg.constants), bytes });
    };
    return { src, finish };
  }

  private async entry(seg: Segment): Promise<Entry> {
    const cached = this.hit(seg);
    if (cached) return cached;
    try {
      const { src, finish } = await this.begin(seg);
      return finish(await this.rt.create(src));
    } catch (e) {
      if (e instanceof CheckpointError) throw e;
      this.fail(seg, e, 'compiling');
    }
  }

  private feeds(seg: Segment, e: Entry): Record<string, OrtFeed> {
    const feeds: Record<string, OrtFeed> = {};
    seg.inputs.forEach((v, i) => {
      const name = e.inputNames[i]!;
      if (v.storage?.dtype === 'float16' && this.opts.halfInputs) feeds[name] = { type: 'float16', data: v.storage.bits, dims: v.shape };
      else if (v.device) feeds[name] = { device: v.device };
      else if (v.storage) feeds[name] = { type: 'float32', data: v.storage.dtype === 'float16' ? f16ToF32(v.storage.bits) : bf16ToF32(v.storage.bits), dims: v.shape };
      else feeds[name] = { type: v.dtype, data: v.data!, dims: v.shape };
    });
    return feeds;
  }

  /** A graph of weights already disposed (recorded before its model was released) runs once and is dropped. */
  private dropIfReleased(seg: Segment): void {
    if (!seg.constants.some((w) => w.released)) return;
    const e = this.cache.get(seg.key);
    if (!e) return;
    this.cache.delete(seg.key);
    e.session.dispose();
  }

  async run(seg: Segment): Promise<SegmentOutput[]> {
    const e = await this.entry(seg);
    let out: Record<string, SegmentOutput>;
    try {
      out = await e.session.run(this.feeds(seg, e), e.outputNames);
    } catch (err) {
      this.fail(seg, err, 'running');
    } finally {
      this.dropIfReleased(seg);
    }
    return e.outputNames.map((n) => out[n]!);
  }

  private readonly downloads = new Map<string, Promise<OrtSession>>();

  /**
   * The host data of a value left in device memory: an Identity graph of its shape and dtype, made once per
   * shape and run with host outputs.
   */
  async download(v: LazyValue): Promise<HostArray> {
    if (!v.device) throw new SdxsError('UNSUPPORTED', `${this.backendName}: value ${v.id} is not in device memory`);
    const key = `${v.dtype}[${v.shape.join(',')}]`;
    let session = this.downloads.get(key);
    if (!session) {
      const onnx = v.dtype === 'int32' ? 'int32' : 'float32';
      const bytes = P.model({
        graphName: 'download',
        nodes: [P.node({ op: 'Identity', inputs: ['x'], outputs: ['y'] })],
        initializers: [],
        inputs: [P.valueInfo('x', onnx, v.shape)],
        outputs: [P.valueInfo('y', onnx, v.shape)],
        opsets: { '': 21 },
      });
      this.downloads.set(key, (session = this.rt.create({ bytes, externalData: [], hostOutputs: true })));
    }
    const out = await (await session).run({ x: { device: v.device } }, ['y']);
    return out.y as HostArray;
  }

  release(weight: LazyValue): void {
    weight.released = true;
    forgetInt8(weight);
    for (const [k, e] of this.cache) {
      if (!e.weights.has(weight)) continue;
      this.cache.delete(k);
      e.session.dispose();
    }
  }

  clear(): void {
    for (const e of this.cache.values()) e.session.dispose();
    this.cache.clear();
    for (const d of this.downloads.values()) void d.then((s) => s.dispose(), () => undefined);
    this.downloads.clear();
  }

  size(): number {
    return this.cache.size;
  }
}
