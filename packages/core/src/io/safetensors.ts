/**
 * Lazy safetensors reader: the header is read and validated at load time, tensor bytes on demand.
 * Sources: a filesystem path or `file:` URL (positional reads, Node only), an http(s) URL (Range
 * requests, works in browsers) or bytes in memory.
 */
import { SafetensorsError, throwIfAborted } from '../errors.js';
import type { FileRange } from './host-storage.js';
import { fileSource, httpSource, memorySource, type ByteSource, type HttpSourceOptions } from './byte-source.js';
import { viewAsSafetensorsArray, type SafetensorsTypedArray } from './safetensors-dtype.js';
import { parseHeaderLength, parseSafetensorsHeader, type SafetensorsHeader, type SafetensorsTensorInfo } from './safetensors-header.js';

export type { SafetensorsTensorInfo } from './safetensors-header.js';
export type { SafetensorsDType, SafetensorsTypedArray } from './safetensors-dtype.js';

export type SafetensorsSource = string | URL | Uint8Array | ArrayBuffer;

export interface LoadSafetensorsOptions extends HttpSourceOptions {
  /** Name used in errors for in-memory sources (default `<memory>`). */
  name?: string;
}

export interface ReadOptions {
  signal?: AbortSignal;
}

export interface SafetensorsFile {
  /** The path, URL or name this file was opened from (what errors name). */
  readonly file: string;
  /** The `__metadata__` strings (for a sharded checkpoint, the index's `metadata`, as strings). */
  readonly metadata: Record<string, string>;
  /** Tensor names in header order. */
  names(): string[];
  has(name: string): boolean;
  /** dtype, shape and byte length; a SafetensorsError for an unknown name. */
  info(name: string): SafetensorsTensorInfo;
  /** The tensor's raw little-endian bytes, in a fresh buffer (aligned for any element type). */
  read(name: string, opts?: ReadOptions): Promise<Uint8Array>;
  /**
   * The tensor as a typed array: Float32Array for F32, Uint16Array (raw bits) for F16/BF16,
   * BigInt64Array for I64, Uint8Array for U8/BOOL/F8_*, and so on (see SafetensorsTypedArray).
   */
  readTyped(name: string, opts?: ReadOptions): Promise<SafetensorsTypedArray>;
  /** Where the tensor's bytes lie when the checkpoint is a local file (undefined for URLs and buffers). */
  fileRange?(name: string): FileRange | undefined;
  close(): Promise<void>;
}

/** True for strings that name an http(s) resource rather than a path. */
export function isHttpUrl(s: string | URL): boolean {
  return typeof s === 'string' ? /^https?:\/\//i.test(s) : s.protocol === 'http:' || s.protocol === 'https:';
}

/** Opens the byte source for a path, URL or buffer. */
export async function openByteSource(source: SafetensorsSource, opts: LoadSafetensorsOptions = {}): Promise<ByteSource> {
  if (source instanceof Uint8Array) return memorySource(source, opts.name);
  if (source instanceof ArrayBuffer) return memorySource(new Uint8Array(source), opts.name);
  if (isHttpUrl(source)) return httpSource(String(source), opts);
  if (source instanceof URL || /^file:\/\//i.test(source)) {
    const url = new URL(String(source));
    if (url.protocol !== 'file:') throw new SafetensorsError(url.href, `unsupported URL protocol '${url.protocol}'`);
    const { fileURLToPath } = await import('node:url');
    return fileSource(fileURLToPath(url));
  }
  return fileSource(source);
}

/** Opens a safetensors file and validates its header. Tensor bytes are read on demand. */
export async function loadSafetensors(source: SafetensorsSource, opts: LoadSafetensorsOptions = {}): Promise<SafetensorsFile> {
  const src = await openByteSource(source, opts);
  try {
    return await openFromByteSource(src, opts.signal);
  } catch (e) {
    await src.close().catch(() => {});
    throw e;
  }
}

/** Reads and validates the header of an already opened byte source. */
export async function openFromByteSource(src: ByteSource, signal?: AbortSignal): Promise<SafetensorsFile> {
  const file = src.name;
  if (src.size !== undefined && src.size < 8) parseHeaderLength(new Uint8Array(0), file, src.size);
  const first8 = await src.read(0, 8, signal);
  const headerLength = parseHeaderLength(first8, file, src.size);
  const headerBytes = await src.read(8, headerLength, signal);
  const dataLength = src.size === undefined ? undefined : src.size - 8 - headerLength;
  const header = parseSafetensorsHeader(headerBytes, file, dataLength);
  return new LazySafetensorsFile(src, header);
}

class LazySafetensorsFile implements SafetensorsFile {
  readonly file: string;
  readonly metadata: Record<string, string>;
  private closed = false;

  constructor(
    private readonly src: ByteSource,
    private readonly header: SafetensorsHeader,
  ) {
    this.file = src.name;
    this.metadata = header.metadata;
  }

  names(): string[] {
    return [...this.header.tensors.keys()];
  }

  has(name: string): boolean {
    return this.header.tensors.has(name);
  }

  info(name: string): SafetensorsTensorInfo {
    const t = this.header.tensors.get(name);
    if (!t) throw new SafetensorsError(this.file, 'no such tensor in this file', name);
    return { dtype: t.dtype, shape: t.shape.slice(), byteLength: t.byteLength, dataOffsets: [t.dataOffsets[0], t.dataOffsets[1]] };
  }

  async read(name: string, opts: ReadOptions = {}): Promise<Uint8Array> {
    const t = this.header.tensors.get(name);
    if (!t) throw new SafetensorsError(this.file, 'no such tensor in this file', name);
    if (this.closed) throw new SafetensorsError(this.file, 'file is closed', name);
    throwIfAborted(opts.signal);
    try {
      return await this.src.read(this.header.dataStart + t.dataOffsets[0], t.byteLength, opts.signal);
    } catch (e) {
      if (e instanceof SafetensorsError && e.tensor === undefined) {
        throw new SafetensorsError(this.file, e.message.startsWith(`${this.file}: `) ? e.message.slice(this.file.length + 2) : e.message, name);
      }
      throw e;
    }
  }

  async readTyped(name: string, opts: ReadOptions = {}): Promise<SafetensorsTypedArray> {
    const bytes = await this.read(name, opts);
    return viewAsSafetensorsArray(this.header.tensors.get(name)!.dtype, bytes);
  }

  fileRange(name: string): FileRange | undefined {
    const t = this.header.tensors.get(name);
    const local = this.src.local;
    if (!t || !local || this.src.size === undefined) return undefined;
    return { path: local.path, offset: this.header.dataStart + t.dataOffsets[0], length: t.byteLength, size: this.src.size, mtimeMs: local.mtimeMs };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.src.close();
  }
}
