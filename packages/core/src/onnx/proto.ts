/**
 * A minimal protobuf writer for the parts of onnx.proto this project emits (ModelProto, GraphProto,
 * NodeProto, AttributeProto, TensorProto, ValueInfoProto). Field numbers are those of onnx/onnx.proto3.
 * Messages are built bottom-up as byte arrays; nothing here depends on a protobuf library.
 */

/** ONNX TensorProto.DataType values used here. */
export const ONNX_DTYPE = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, float16: 10, double: 11, bfloat16: 16 } as const;
export type OnnxDType = keyof typeof ONNX_DTYPE;

const textEncoder = new TextEncoder();

/** Growable byte buffer with protobuf primitives. */
class Writer {
  private buf = new Uint8Array(256);
  private len = 0;

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  varint(v: number | bigint): void {
    let x = BigInt.asUintN(64, BigInt(v));
    if (x < 0x80n) {
      this.ensure(1);
      this.buf[this.len++] = Number(x);
      return;
    }
    this.ensure(10);
    while (x >= 0x80n) {
      this.buf[this.len++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.len++] = Number(x);
  }

  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** One message under construction: typed field helpers over a Writer. */
export class Msg {
  private readonly w = new Writer();

  int(field: number, v: number | bigint): this {
    this.w.tag(field, 0);
    this.w.varint(v);
    return this;
  }
  float(field: number, v: number): this {
    this.w.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.w.bytes(b);
    return this;
  }
  bytes(field: number, b: Uint8Array): this {
    this.w.tag(field, 2);
    this.w.varint(b.length);
    this.w.bytes(b);
    return this;
  }
  string(field: number, s: string): this {
    return this.bytes(field, textEncoder.encode(s));
  }
  msg(field: number, m: Msg): this {
    return this.bytes(field, m.finish());
  }
  /** packed repeated varints (int64 / int32 / enums) */
  packedInts(field: number, vs: readonly (number | bigint)[]): this {
    const inner = new Writer();
    for (const v of vs) inner.varint(v);
    return this.bytes(field, inner.finish());
  }
  /** packed repeated float32 */
  packedFloats(field: number, vs: readonly number[]): this {
    const b = new Uint8Array(vs.length * 4);
    const dv = new DataView(b.buffer);
    vs.forEach((v, i) => dv.setFloat32(i * 4, v, true));
    return this.bytes(field, b);
  }
  finish(): Uint8Array {
    return this.w.finish();
  }
}

export type AttrValue = number | string | number[] | { floats: number[] } | { float: number } | { tensor: Msg };

/** AttributeProto: integers are INT/INTS; use {float}/{floats} for floating values. */
export function attribute(name: string, v: AttrValue): Msg {
  const m = new Msg().string(1, name);
  if (typeof v === 'number') return m.int(3, v).int(20, 2);
  if (typeof v === 'string') return m.string(4, v).int(20, 3);
  if (Array.isArray(v)) return m.packedInts(8, v).int(20, 7);
  if ('float' in v) return m.float(2, v.float).int(20, 1);
  if ('floats' in v) return m.packedFloats(7, v.floats).int(20, 6);
  return m.msg(5, v.tensor).int(20, 4);
}

export interface NodeSpec {
  op: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attrs?: Readonly<Record<string, AttrValue>>;
  domain?: string;
  name?: string;
}

export function node(n: NodeSpec): Msg {
  const m = new Msg();
  for (const i of n.inputs) m.string(1, i);
  for (const o of n.outputs) m.string(2, o);
  if (n.name) m.string(3, n.name);
  m.string(4, n.op);
  for (const [k, v] of Object.entries(n.attrs ?? {})) m.msg(5, attribute(k, v));
  if (n.domain) m.string(7, n.domain);
  return m;
}

/** TensorProto with inline raw little-endian bytes. */
export function tensorRaw(name: string, dtype: OnnxDType, dims: readonly number[], raw: Uint8Array): Msg {
  const m = new Msg();
  if (dims.length) m.packedInts(1, dims);
  return m.int(2, ONNX_DTYPE[dtype]).string(8, name).bytes(9, raw);
}

/** TensorProto whose bytes live in an external file (or an in-memory file given to the session). */
export function tensorExternal(name: string, dtype: OnnxDType, dims: readonly number[], location: string, offset: number, length: number): Msg {
  const m = new Msg();
  if (dims.length) m.packedInts(1, dims);
  m.int(2, ONNX_DTYPE[dtype]).string(8, name);
  const entry = (k: string, v: string): Msg => new Msg().string(1, k).string(2, v);
  m.msg(13, entry('location', location)).msg(13, entry('offset', String(offset))).msg(13, entry('length', String(length)));
  return m.int(14, 1);
}

/** ValueInfoProto for a tensor with a fixed shape (a string dim is symbolic). */
export function valueInfo(name: string, dtype: OnnxDType, shape: readonly (number | string)[]): Msg {
  const dims = new Msg();
  for (const d of shape) dims.msg(1, typeof d === 'number' ? new Msg().int(1, d) : new Msg().string(2, d));
  const tensorType = new Msg().int(1, ONNX_DTYPE[dtype]).msg(2, dims);
  return new Msg().string(1, name).msg(2, new Msg().msg(1, tensorType));
}

export interface ModelSpec {
  graphName: string;
  nodes: readonly Msg[];
  initializers: readonly Msg[];
  inputs: readonly Msg[];
  outputs: readonly Msg[];
  /** domain → version; '' is ai.onnx */
  opsets: Readonly<Record<string, number>>;
  irVersion?: number;
  producer?: string;
}

export function model(s: ModelSpec): Uint8Array {
  const g = new Msg();
  for (const n of s.nodes) g.msg(1, n);
  g.string(2, s.graphName);
  for (const t of s.initializers) g.msg(5, t);
  for (const i of s.inputs) g.msg(11, i);
  for (const o of s.outputs) g.msg(12, o);
  const m = new Msg().int(1, s.irVersion ?? 10);
  for (const [domain, version] of Object.entries(s.opsets)) {
    const os = new Msg();
    if (domain) os.string(1, domain);
    m.msg(8, os.int(2, version));
  }
  m.string(2, s.producer ?? 'sdxs-ts').msg(7, g);
  return m.finish();
}
