/**
 * The bits of a 16-bit host tensor (float16 / bfloat16 storage), which can leave host memory when they can be
 * read again: a weight loaded from a local safetensors file keeps only where it lies in the file once a compiled
 * session holds it (ONNX Runtime reads it from the file itself), and is read back when something needs the bits
 * on the host again (fusing a LoRA, another graph, an eager backend).
 */
import type { StorageDType } from '../dtype.js';
import { CheckpointError, SdxsError } from '../errors.js';

/** Where a tensor's raw little-endian bytes lie in a local file, as the file was when it was opened. */
export interface FileRange {
  /** absolute path with symlinks resolved */
  readonly path: string;
  readonly offset: number;
  readonly length: number;
  /** size and modification time at load: a file changed since is refused, not read */
  readonly size: number;
  readonly mtimeMs: number;
}

/** How the bits are read again. `file` is set when the stored bits are the file's own bytes (no conversion). */
export interface StorageSource {
  readonly file?: FileRange;
  /** what errors name: `<file> [<tensor>]` */
  readonly where: string;
  read(): Promise<Uint16Array>;
  readSync(): Uint16Array;
}

type NodeFs = typeof import('node:fs');
const nodeFs = (): NodeFs | undefined =>
  (globalThis as { process?: { getBuiltinModule?: (m: string) => unknown } }).process?.getBuiltinModule?.('node:fs') as NodeFs | undefined;

/** Refuses a file that changed (size or mtime) since the weights were loaded from it. */
export function checkUnchanged(r: FileRange, where: string): void {
  const fs = nodeFs();
  if (!fs) return;
  let st: { size: number; mtimeMs: number };
  try {
    st = fs.statSync(r.path);
  } catch (e) {
    throw new CheckpointError(`${where}: the weights file cannot be read again (${(e as Error).message}); it was loaded from ${r.path}`);
  }
  if (st.size !== r.size || st.mtimeMs !== r.mtimeMs) {
    throw new CheckpointError(`${where}: ${r.path} changed on disk since the weights were loaded from it (size or time differ); load the model again`);
  }
}

/**
 * Reads parts of a file range synchronously (Node, Bun, Deno through node:fs), through one open file: part i is
 * `lengths[i]` bytes from `r.offset + offsets[i]`, written one after the other into the result.
 */
export function readPartsSync(r: FileRange, where: string, offsets: ArrayLike<number>, lengths: ArrayLike<number>): Uint8Array {
  const fs = nodeFs();
  if (!fs) throw new SdxsError('UNSUPPORTED', `${where}: cannot read ${r.path} here (no node:fs)`);
  checkUnchanged(r, where);
  let total = 0;
  for (let i = 0; i < lengths.length; i++) total += lengths[i]!;
  const out = new Uint8Array(total);
  const fd = fs.openSync(r.path, 'r');
  try {
    let at = 0;
    for (let i = 0; i < offsets.length; i++) {
      const end = at + lengths[i]!;
      const from = r.offset + offsets[i]! - at;
      while (at < end) {
        const n = fs.readSync(fd, out, at, Math.min(1 << 30, end - at), from + at);
        if (n === 0) throw new CheckpointError(`${where}: ${r.path} ended at byte ${from + at}, before the tensor's end`);
        at += n;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return out;
}

/** Reads a whole file range synchronously. */
export const readRangeSync = (r: FileRange, where: string): Uint8Array => readPartsSync(r, where, [0], [r.length]);

/** Reads a file range (async). */
export async function readRange(r: FileRange, where: string): Promise<Uint8Array> {
  checkUnchanged(r, where);
  const fs = await import('node:fs/promises');
  const fh = await fs.open(r.path, 'r');
  try {
    const out = new Uint8Array(r.length);
    let done = 0;
    while (done < r.length) {
      const { bytesRead } = await fh.read(out, done, Math.min(1 << 30, r.length - done), r.offset + done);
      if (bytesRead === 0) throw new CheckpointError(`${where}: ${r.path} ended at byte ${r.offset + done}, before the tensor's end`);
      done += bytesRead;
    }
    return out;
  } finally {
    await fh.close();
  }
}

export const asBits = (b: Uint8Array): Uint16Array => new Uint16Array(b.buffer, b.byteOffset, b.byteLength >> 1);

export class HostStorage {
  private held: Uint16Array | null;
  private loading: Promise<Uint16Array> | null = null;

  constructor(
    bits: Uint16Array | null,
    readonly dtype: StorageDType,
    readonly length: number,
    readonly source: StorageSource | null = null,
  ) {
    if (!bits && !source) throw new SdxsError('UNSUPPORTED', 'HostStorage needs bits or a source to read them from');
    this.held = bits;
  }

  /** Whether the bits are in host memory now. */
  get resident(): boolean {
    return this.held !== null;
  }

  /** The bits, read again (synchronously) when they had left host memory. */
  get bits(): Uint16Array {
    if (!this.held) this.held = this.checked(this.source!.readSync());
    return this.held;
  }

  /** The bits, read again when they had left host memory. */
  async load(): Promise<Uint16Array> {
    if (this.held) return this.held;
    this.loading ??= this.source!.read().then((b) => {
      this.loading = null;
      return (this.held = this.checked(b));
    }, (e: unknown) => {
      this.loading = null;
      throw e;
    });
    return this.loading;
  }

  /**
   * Rows `rows[i]` of `rowLength` words each, one after the other: copied from the bits in host memory, or, when
   * they are in their file, those rows alone read from it in one pass (an embedding lookup reads its rows, not the
   * table).
   */
  rows(rows: ArrayLike<number>, rowLength: number): Uint16Array {
    if (this.held || !this.source?.file) {
      const bits = this.bits;
      const out = new Uint16Array(rows.length * rowLength);
      for (let i = 0; i < rows.length; i++) out.set(bits.subarray(rows[i]! * rowLength, (rows[i]! + 1) * rowLength), i * rowLength);
      return out;
    }
    const offsets = Array.from(rows, (r) => r * rowLength * 2);
    return asBits(readPartsSync(this.source.file, this.source.where, offsets, new Array<number>(rows.length).fill(rowLength * 2)));
  }

  /** Let the bits leave host memory when they can be read again; returns whether they did. */
  release(): boolean {
    if (!this.source || !this.held) return false;
    this.held = null;
    return true;
  }

  private checked(b: Uint16Array): Uint16Array {
    if (b.length !== this.length) throw new CheckpointError(`${this.source!.where}: read ${b.length} values again, expected ${this.length}`);
    return b;
  }
}
