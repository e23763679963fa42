/**
 * Turns a lowered model (whose initializers point into in-memory "files", one per weight) into an ONNX file:
 * graph inputs and outputs renamed to their public names, and every external initializer relocated into one
 * data file beside the model (offsets aligned to 64 bytes). Reads and rewrites only the fields of onnx.proto
 * it needs (ModelProto.graph, GraphProto node/initializer/input/output, NodeProto input/output,
 * TensorProto.external_data, ValueInfoProto.name); every other field is copied byte for byte.
 */
import { SdxsError } from '../errors.js';
import * as P from '../onnx/proto.js';

interface Field {
  no: number;
  wire: number;
  /** the whole field, tag included */
  start: number;
  end: number;
  /** a length-delimited field's payload */
  body?: Uint8Array;
}

function readVarint(buf: Uint8Array, pos: number): [number, number] {
  let v = 0;
  let mul = 1;
  for (;;) {
    if (pos >= buf.length) throw new SdxsError('UNSUPPORTED', 'ONNX model bytes end inside a varint');
    const b = buf[pos++]!;
    v += (b & 0x7f) * mul;
    if (b < 0x80) return [v, pos];
    mul *= 128;
  }
}

function fields(buf: Uint8Array): Field[] {
  const out: Field[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const start = pos;
    const [tag, p] = readVarint(buf, pos);
    pos = p;
    const no = Math.floor(tag / 8);
    const wire = tag & 7;
    let body: Uint8Array | undefined;
    if (wire === 0) pos = readVarint(buf, pos)[1];
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      const [len, q] = readVarint(buf, pos);
      body = buf.subarray(q, q + len);
      pos = q + len;
    } else throw new SdxsError('UNSUPPORTED', `ONNX model bytes: unsupported protobuf wire type ${wire}`);
    if (pos > buf.length) throw new SdxsError('UNSUPPORTED', 'ONNX model bytes end inside a field');
    out.push({ no, wire, start, end: pos, body });
  }
  return out;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

function varint(v: number): number[] {
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

/** A message rebuilt from raw field copies and new length-delimited fields. */
class Out {
  private parts: Uint8Array[] = [];
  private size = 0;
  raw(b: Uint8Array): void {
    this.parts.push(b);
    this.size += b.length;
  }
  bytes(no: number, body: Uint8Array): void {
    this.raw(Uint8Array.from([...varint(no * 8 + 2), ...varint(body.length)]));
    this.raw(body);
  }
  string(no: number, s: string): void {
    this.bytes(no, enc.encode(s));
  }
  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

/** Rewrite the length-delimited fields `edit` handles; copy the rest. */
function rewrite(buf: Uint8Array, edit: (f: Field, out: Out) => boolean): Uint8Array {
  const out = new Out();
  for (const f of fields(buf)) if (!(f.body && edit(f, out))) out.raw(buf.subarray(f.start, f.end));
  return out.finish();
}

export interface OnnxFileOptions {
  /** graph value renames (lowered input/output names → public names) */
  rename: ReadonlyMap<string, string>;
  /** the lowered model's in-memory files, by their location */
  externalData: readonly { path: string; data: Uint8Array }[];
  /** location written into the model for the data file (relative to the model file) */
  dataFile: string;
  /**
   * Graph inputs that become initializers: values the forward made itself (tables, a mask minimum), which a
   * compiled session is fed per run in their own type, written into the file instead
   */
  baked?: ReadonlyMap<string, { dtype: 'float32' | 'int32'; dims: readonly number[]; data: Float32Array | Int32Array }>;
}

export interface OnnxFile {
  model: Uint8Array;
  /** the data file's contents, in order (padding included) */
  data: Uint8Array[];
  dataBytes: number;
}

const ALIGN = 64;

export function toOnnxFile(lowered: Uint8Array, opts: OnnxFileOptions): OnnxFile {
  const base = new Map<string, number>();
  const data: Uint8Array[] = [];
  let size = 0;
  const baked = opts.baked ?? new Map();
  const bakedTensors: Uint8Array[] = [];
  const external = [...opts.externalData];
  for (const [name, v] of baked) {
    const bytes = new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength);
    if (bytes.byteLength <= 64) bakedTensors.push(P.tensorRaw(name, v.dtype, v.dims, bytes.slice()).finish());
    else {
      const location = `baked:${name}`;
      external.push({ path: location, data: bytes });
      bakedTensors.push(P.tensorExternal(name, v.dtype, v.dims, location, 0, bytes.byteLength).finish());
    }
  }
  for (const e of external) {
    const pad = (ALIGN - (size % ALIGN)) % ALIGN;
    if (pad) data.push(new Uint8Array(pad));
    size += pad;
    base.set(e.path, size);
    data.push(e.data);
    size += e.data.byteLength;
  }
  const name = (s: string): string => opts.rename.get(s) ?? s;
  const entry = (body: Uint8Array): { key: string; value: string } => {
    let key = '';
    let value = '';
    for (const f of fields(body)) {
      if (f.no === 1 && f.body) key = dec.decode(f.body);
      if (f.no === 2 && f.body) value = dec.decode(f.body);
    }
    return { key, value };
  };
  const tensor = (body: Uint8Array): Uint8Array => {
    const entries = fields(body).filter((f) => f.no === 13 && f.body).map((f) => entry(f.body!));
    const location = entries.find((e) => e.key === 'location')?.value;
    if (location === undefined) return body;
    const at = base.get(location);
    if (at === undefined) throw new SdxsError('UNSUPPORTED', `ONNX export: an initializer points to '${location}', which is not among the lowered model's data`);
    return rewrite(body, (f, out) => {
      if (f.no !== 13) return false;
      const e = entry(f.body!);
      const value = e.key === 'location' ? opts.dataFile : e.key === 'offset' ? String(at + Number(e.value)) : e.value;
      const m = new Out();
      m.string(1, e.key);
      m.string(2, value);
      out.bytes(13, m.finish());
      return true;
    });
  };
  const nameOf = (body: Uint8Array): string => {
    const f = fields(body).find((x) => x.no === 1 && x.body);
    return f ? dec.decode(f.body!) : '';
  };
  const valueInfo = (body: Uint8Array): Uint8Array =>
    rewrite(body, (f, out) => {
      if (f.no !== 1) return false;
      out.string(1, name(dec.decode(f.body!)));
      return true;
    });
  const node = (body: Uint8Array): Uint8Array =>
    rewrite(body, (f, out) => {
      if (f.no !== 1 && f.no !== 2) return false;
      out.string(f.no, name(dec.decode(f.body!)));
      return true;
    });
  const graph = (body: Uint8Array): Uint8Array => {
    const g = rewrite(body, (f, out) => {
      if (f.no === 1) out.bytes(1, node(f.body!));
      else if (f.no === 5) out.bytes(5, tensor(f.body!));
      else if (f.no === 11 && baked.has(nameOf(f.body!))) return true; // an input no more: written as an initializer below
      else if (f.no === 11 || f.no === 12) out.bytes(f.no, valueInfo(f.body!));
      else return false;
      return true;
    });
    const out = new Out();
    out.raw(g);
    for (const t of bakedTensors) out.bytes(5, tensor(t));
    return out.finish();
  };
  const model = rewrite(lowered, (f, out) => {
    if (f.no !== 7) return false;
    out.bytes(7, graph(f.body!));
    return true;
  });
  return { model, data, dataBytes: size };
}
