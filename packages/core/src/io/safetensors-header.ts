/** Parsing and validation of a safetensors header: `u64 little-endian length` + UTF-8 JSON. */
import { clip, previewValue, SafetensorsError } from '../errors.js';
import { isSafetensorsDType, safetensorsItemSize, type SafetensorsDType } from './safetensors-dtype.js';

/** Largest header accepted, in bytes (the reference implementation uses the same cap). */
export const MAX_SAFETENSORS_HEADER = 100_000_000;

export interface SafetensorsTensorInfo {
  dtype: SafetensorsDType;
  shape: number[];
  /** Bytes of data: prod(shape) * itemsize. */
  byteLength: number;
  /** [begin, end) relative to the start of the data region (just after the header). */
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  metadata: Record<string, string>;
  tensors: Map<string, SafetensorsTensorInfo>;
  /** Absolute file offset of the data region: 8 + header length. */
  dataStart: number;
}

/**
 * Reads the header length from the first 8 bytes. `fileSize` is the total size when known (it is not
 * for an HTTP server that gives no Content-Range total).
 */
export function parseHeaderLength(first8: Uint8Array, file: string, fileSize: number | undefined): number {
  if (first8.length < 8 || (fileSize !== undefined && fileSize < 8)) {
    throw new SafetensorsError(file, `file is ${fileSize ?? first8.length} bytes, shorter than the 8-byte header length`);
  }
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_SAFETENSORS_HEADER)) {
    throw new SafetensorsError(file, `header length ${n} is absurd (more than ${MAX_SAFETENSORS_HEADER} bytes): not a safetensors file or corrupt`);
  }
  const len = Number(n);
  if (fileSize !== undefined && 8 + len > fileSize) {
    throw new SafetensorsError(file, `header length ${len} runs past the end of the file (${fileSize} bytes): file truncated or corrupt`);
  }
  if (len < 2) throw new SafetensorsError(file, `header length ${len} is too small for a JSON object`);
  return len;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isIndex(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

/**
 * Parses and validates the header JSON. `dataLength` is the size of the data region when known.
 * Every problem is a SafetensorsError naming the file and, where it applies, the tensor.
 */
export function parseSafetensorsHeader(bytes: Uint8Array, file: string, dataLength: number | undefined): SafetensorsHeader {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new SafetensorsError(file, 'header is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(file, `header is not valid JSON (${clip((e as Error).message)})`);
  }
  if (!isPlainObject(json)) throw new SafetensorsError(file, 'header JSON is not an object');

  const metadata: Record<string, string> = {};
  const tensors = new Map<string, SafetensorsTensorInfo>();
  for (const [name, entry] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (entry === null) continue;
      if (!isPlainObject(entry)) throw new SafetensorsError(file, '__metadata__ is not an object of strings');
      for (const [k, v] of Object.entries(entry)) {
        if (typeof v !== 'string') throw new SafetensorsError(file, `__metadata__ value for '${clip(k)}' is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    tensors.set(name, parseEntry(entry, file, name, dataLength));
  }
  checkOverlaps(tensors, file);
  return { metadata, tensors, dataStart: 8 + bytes.length };
}

function parseEntry(entry: unknown, file: string, name: string, dataLength: number | undefined): SafetensorsTensorInfo {
  if (!isPlainObject(entry)) throw new SafetensorsError(file, 'entry is not an object', name);
  const { dtype, shape, data_offsets: offsets } = entry;
  if (dtype === undefined) throw new SafetensorsError(file, 'entry has no dtype', name);
  if (shape === undefined) throw new SafetensorsError(file, 'entry has no shape', name);
  if (offsets === undefined) throw new SafetensorsError(file, 'entry has no data_offsets', name);
  if (!isSafetensorsDType(dtype)) throw new SafetensorsError(file, `unknown dtype ${previewValue(dtype)}`, name);
  if (!Array.isArray(shape) || !shape.every(isIndex)) {
    throw new SafetensorsError(file, `shape ${previewValue(shape)} is not an array of non-negative integers`, name);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isIndex)) {
    throw new SafetensorsError(file, `data_offsets ${previewValue(offsets)} is not [begin, end] with non-negative integers`, name);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) throw new SafetensorsError(file, `data_offsets [${begin}, ${end}] end before they begin`, name);
  if (dataLength !== undefined && end > dataLength) {
    throw new SafetensorsError(file, `data_offsets [${begin}, ${end}] run past the end of the data (${dataLength} bytes): file truncated or corrupt`, name);
  }
  let count = 1;
  for (const d of shape as number[]) count *= d;
  const byteLength = count * safetensorsItemSize(dtype);
  if (!Number.isSafeInteger(byteLength)) throw new SafetensorsError(file, `shape ${previewValue(shape)} is too large`, name);
  if (byteLength !== end - begin) {
    throw new SafetensorsError(
      file,
      `data_offsets [${begin}, ${end}] hold ${end - begin} bytes but ${dtype} ${previewValue(shape)} needs ${byteLength}`,
      name,
    );
  }
  return { dtype, shape: (shape as number[]).slice(), byteLength, dataOffsets: [begin, end] };
}

function checkOverlaps(tensors: Map<string, SafetensorsTensorInfo>, file: string): void {
  const spans = [...tensors].filter(([, t]) => t.byteLength > 0).sort((a, b) => a[1].dataOffsets[0] - b[1].dataOffsets[0]);
  for (let i = 1; i < spans.length; i++) {
    const [prevName, prev] = spans[i - 1]!;
    const [name, t] = spans[i]!;
    if (t.dataOffsets[0] < prev.dataOffsets[1]) {
      throw new SafetensorsError(
        file,
        `data_offsets [${t.dataOffsets}] overlap those of '${clip(prevName)}' [${prev.dataOffsets}]`,
        name,
      );
    }
  }
}
