/**
 * Writing safetensors files the way the reference (Python/Rust) library does: tensors ordered by dtype
 * (largest first in the reference dtype order) then by name, data packed back to back, header JSON
 * compact with `__metadata__` first and padded with spaces to a multiple of 8 bytes.
 */
import { SafetensorsError } from '../errors.js';
import { removeStaleTempFiles } from './stale-temp.js';
import {
  LITTLE_ENDIAN,
  isSafetensorsDType,
  safetensorsArrayType,
  safetensorsDTypeRank,
  safetensorsItemSize,
  swapBytes,
  type SafetensorsDType,
  type SafetensorsTypedArray,
} from './safetensors-dtype.js';

export interface SafetensorsTensorInput {
  dtype: SafetensorsDType;
  shape: readonly number[];
  /** Elements in the dtype's typed array (Uint16Array bits for F16/BF16), or the raw little-endian bytes. */
  data: SafetensorsTypedArray;
}

export type SafetensorsTensorMap = Record<string, SafetensorsTensorInput>;

interface Planned {
  name: string;
  bytes: Uint8Array;
}

const utf8 = new TextEncoder();

function compareUtf8(a: string, b: string): number {
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

function bytesOf(t: SafetensorsTensorInput): Uint8Array {
  const b = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  if (LITTLE_ENDIAN || t.data instanceof Uint8Array || t.data.BYTES_PER_ELEMENT === 1) return b;
  const copy = b.slice();
  swapBytes(copy, t.data.BYTES_PER_ELEMENT);
  return copy;
}

/** Validates the tensors and builds the header bytes (length prefix included) and the data order. */
export function planSafetensors(
  tensors: SafetensorsTensorMap,
  metadata: Record<string, string> | undefined,
  file: string,
): { header: Uint8Array; order: Planned[]; totalSize: number } {
  const entries = Object.entries(tensors);
  for (const [name, t] of entries) {
    if (name === '__metadata__') throw new SafetensorsError(file, "'__metadata__' is reserved and cannot name a tensor", name);
    if (!isSafetensorsDType(t.dtype)) throw new SafetensorsError(file, `unknown dtype ${JSON.stringify(t.dtype)}`, name);
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new SafetensorsError(file, `shape ${JSON.stringify(t.shape)} is not an array of non-negative integers`, name);
    }
    const Want = safetensorsArrayType(t.dtype);
    if (!(t.data instanceof Want) && !(t.data instanceof Uint8Array)) {
      throw new SafetensorsError(file, `data is a ${t.data?.constructor?.name ?? typeof t.data}; ${t.dtype} needs a ${Want.name} or raw bytes in a Uint8Array`, name);
    }
    const need = t.shape.reduce((a, d) => a * d, 1) * safetensorsItemSize(t.dtype);
    if (t.data.byteLength !== need) {
      throw new SafetensorsError(file, `data has ${t.data.byteLength} bytes but ${t.dtype} ${JSON.stringify(t.shape)} needs ${need}`, name);
    }
  }
  entries.sort(([an, a], [bn, b]) => safetensorsDTypeRank(b.dtype) - safetensorsDTypeRank(a.dtype) || compareUtf8(an, bn));

  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new SafetensorsError(file, `metadata value for '${k}' is not a string`);
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  const order: Planned[] = [];
  for (const [name, t] of entries) {
    const bytes = bytesOf(t);
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes.byteLength] };
    offset += bytes.byteLength;
    order.push({ name, bytes });
  }
  const json = utf8.encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded).fill(0x20);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  return { header: out, order, totalSize: out.length + offset };
}

/** The whole file in memory (browser-friendly). */
export function serializeSafetensors(tensors: SafetensorsTensorMap, metadata?: Record<string, string>): Uint8Array {
  const { header, order, totalSize } = planSafetensors(tensors, metadata, '<memory>');
  const out = new Uint8Array(totalSize);
  out.set(header, 0);
  let pos = header.length;
  for (const { bytes } of order) {
    out.set(bytes, pos);
    pos += bytes.length;
  }
  return out;
}

/**
 * Writes a file by streaming the header and each tensor to `<path>.tmp-…` and renaming it over `path`
 * once complete, so a crash never leaves a half-written file under the final name; temporary files of
 * killed runs in the folder are removed first. Node only.
 */
export async function saveSafetensors(path: string, tensors: SafetensorsTensorMap, metadata?: Record<string, string>): Promise<void> {
  const { header, order } = planSafetensors(tensors, metadata, path);
  const fs = await import('node:fs/promises');
  const { dirname } = await import('node:path');
  await removeStaleTempFiles(dirname(path));
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  let fh: Awaited<ReturnType<typeof fs.open>> | undefined;
  try {
    fh = await fs.open(tmp, 'w');
    await writeAll(fh, header);
    const CHUNK = 1 << 26;
    for (const { bytes } of order) {
      for (let i = 0; i < bytes.length; i += CHUNK) await writeAll(fh, bytes.subarray(i, Math.min(bytes.length, i + CHUNK)));
    }
    await fh.sync();
    await fh.close();
    fh = undefined;
    await fs.rename(tmp, path);
  } catch (e) {
    await fh?.close().catch(() => {});
    await fs.rm(tmp, { force: true }).catch(() => {});
    if (e instanceof SafetensorsError) throw e;
    throw new SafetensorsError(path, `write failed: ${(e as Error).message}`);
  }
}

async function writeAll(fh: { write(b: Uint8Array, o: number, l: number): Promise<{ bytesWritten: number }> }, b: Uint8Array): Promise<void> {
  let done = 0;
  while (done < b.length) done += (await fh.write(b, done, b.length - done)).bytesWritten;
}
