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

/** Reads a file range synchronously (Node, Bun, Deno through node:fs). */
export function readRangeSync(r: FileRange, where: string): Uint8Array {
  const fs = nodeFs();
  if (!fs) throw new SdxsError('UNSUPPORTED', `${where}: cannot read ${r.path} here (no node:fs)`);
  checkUnchanged(r, where);
  const out = new Uint8Array(r.length);
  const fd = fs.openSync(r.path, 'r');
  try {
    let done = 0;
    while (done < r.length) {
      const n = fs.readSync(fd, out, done, Math.min(1 << 30, r.length - done), r.offset + done);
      if (n === 0) throw new CheckpointError(`${where}: ${r.path} ended at byte ${r.offset + done}, before the tensor's end`);
      done += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return out;
}

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
   * Words [start, end): a view of the bits in host memory, or, when they are in their file, those words alone
   * read from it (the rest stays out of memory: an embedding lookup reads its rows, not the table).
   */
  slice(start: number, end: number): Uint16Array {
    if (this.held || !this.source?.file) return this.bits.subarray(start, end);
    const f = this.source.file;
    return asBits(readRangeSync({ ...f, offset: f.offset + start * 2, length: (end - start) * 2 }, this.source.where));
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
