/**
 * The graph under construction while a segment is lowered (lower.ts): nodes, initializers (inline or as
 * external data), shared constants and casts, and the float type the current op is written in.
 */
import type { LazyValue } from '../graph/lazy-value.js';
import { f32ToF16 } from '../io/half.js';
import { type ElemType, type FloatType, halfWeightBits } from './precision.js';
import * as P from './proto.js';

/** Where a weight's bytes lie, for ONNX external data. */
export interface FileWeight {
  readonly location: string;
  readonly offset: number;
  readonly length: number;
}


const INLINE_LIMIT = 64;

export const toOnnx = (d: 'float32' | 'int32'): P.OnnxDType => d;

/** The nodes and initializers of one graph under construction, with shared constants and casts. */
export class Builder {
  readonly nodes: P.Msg[] = [];
  readonly initializers: P.Msg[] = [];
  readonly externalData: { path: string; data: Uint8Array }[] = [];
  /** op type, inputs and output of each node, in order (for graph-level facts such as sharedWeights) */
  readonly edges: { op: string; inputs: readonly string[]; output: string }[] = [];
  private n = 0;
  private readonly consts = new Map<string, string>();
  private readonly casts = new Map<string, string>();
  /** the float type of the op being lowered: float32 constants and casts are written in it */
  ft: FloatType = 'float32';
  /** names of the int8 initializers already made in this graph (int8.ts: a weight is quantized once per layout) */
  readonly int8Names = new Set<string>();
  /** activations already quantized per row (int8.ts), by input name and rotation block: every product reading one shares it */
  readonly int8Rows = new Map<string, { q: string; scale: string; zero: string }>();
  /** convolutions lowered from the input of the upsample they read (see subpixelConvs) */
  subpixel = new Set<LazyValue>();

  /** `d` as written into the graph: float32 means the current float type. */
  elem(d: 'float32' | 'int32'): P.OnnxDType {
    return d === 'float32' ? this.ft : d;
  }

  /** `name` (of element type `from`) as `to`: a Cast, shared within the graph, or the name itself. */
  castTo(name: string, from: ElemType, to: ElemType): string {
    if (from === to || !name) return name;
    const k = `${name}>${to}`;
    let c = this.casts.get(k);
    if (!c) this.casts.set(k, (c = this.op('Cast', [name], { to: P.ONNX_DTYPE[to] })));
    return c;
  }

  /** A node with several outputs; returns their names. */
  ops(op: string, inputs: readonly string[], outputs: number, attrs?: Record<string, P.AttrValue>, domain?: string): string[] {
    const outs = Array.from({ length: outputs }, () => this.fresh(op));
    this.nodes.push(P.node({ op, inputs, outputs: outs, attrs, domain }));
    this.edges.push({ op, inputs, output: outs[0]! });
    return outs;
  }

  fresh(hint = 't'): string {
    return `${hint}_${this.n++}`;
  }

  op(op: string, inputs: readonly string[], attrs?: Record<string, P.AttrValue>, domain?: string, out?: string): string {
    const o = out ?? this.fresh(op);
    this.nodes.push(P.node({ op, inputs, outputs: [o], attrs, domain }));
    this.edges.push({ op, inputs, output: o });
    return o;
  }

  /** A float32 scalar whatever the current float type. */
  fill32(value: number): string {
    const saved = this.ft;
    this.ft = 'float32';
    try {
      return this.fill('float32', [], value);
    } finally {
      this.ft = saved;
    }
  }

  /** A small int64 constant (shapes, axes, pads), shared within the graph. */
  i64(values: readonly number[], scalar = false): string {
    const k = `i64${scalar ? 's' : ''}:${values.join(',')}`;
    let name = this.consts.get(k);
    if (name) return name;
    name = this.fresh('c');
    const raw = new Uint8Array(values.length * 8);
    const dv = new DataView(raw.buffer);
    values.forEach((v, i) => dv.setBigInt64(i * 8, BigInt(v), true));
    this.initializers.push(P.tensorRaw(name, 'int64', scalar ? [] : [values.length], raw));
    this.consts.set(k, name);
    return name;
  }

  /** A float (in the current float type) or int32 constant tensor filled with one value. */
  fill(d: 'float32' | 'int32', shape: readonly number[], value: number): string {
    const dtype = this.elem(d);
    const k = `${dtype}:${shape.join(',')}:${value}`;
    let name = this.consts.get(k);
    if (name) return name;
    name = this.fresh('c');
    const size = shape.reduce((a, b) => a * b, 1);
    const arr = dtype === 'float32' ? new Float32Array(size).fill(value) : dtype === 'float16' ? f32ToF16(new Float32Array(size).fill(value)) : new Int32Array(size).fill(value);
    this.initializers.push(P.tensorRaw(name, dtype, shape, new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength)));
    this.consts.set(k, name);
    return name;
  }

  /** A weight as an initializer; returns its name and element type in the graph. */
  weight(name: string, v: LazyValue, index: number, compute: FloatType, file?: FileWeight): { name: string; type: ElemType } {
    if (file && v.storage && (compute === 'float32' || v.storage.dtype === 'float16')) {
      // the session reads the bytes from the weights file itself; nothing of it passes through the host
      const stored = compute === 'float32' ? `${name}_${v.storage.dtype}` : name;
      this.initializers.push(P.tensorExternal(stored, v.storage.dtype, v.shape, file.location, file.offset, file.length));
      if (compute === 'float32') this.op('Cast', [stored], { to: P.ONNX_DTYPE.float32 }, undefined, name);
      return { name, type: compute === 'float32' ? v.dtype : 'float16' };
    }
    if (compute === 'float16' && v.dtype === 'float32') {
      // float16 graphs hold every float weight in float16 (bfloat16 and float32 ones converted once, on the host)
      const bits = halfWeightBits(v);
      this.initializer(name, 'float16', v.shape, new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength), `w${index}`);
      return { name, type: 'float16' };
    }
    const src = v.storage ? v.storage.bits : v.data!;
    const bytes = new Uint8Array(src.buffer, src.byteOffset, src.byteLength);
    const dtype: P.OnnxDType = v.storage ? v.storage.dtype : toOnnx(v.dtype);
    const stored = v.storage ? `${name}_${v.storage.dtype}` : name;
    this.initializer(stored, dtype, v.shape, bytes, `w${index}`);
    if (v.storage) this.op('Cast', [stored], { to: P.ONNX_DTYPE.float32 }, undefined, name);
    return { name, type: v.dtype };
  }

  /** every initializer inline in the protobuf (see LowerOptions.inlineWeights) */
  inline = false;

  /** An initializer of `bytes`: inline when tiny (or `inline`), else external data in memory under `path`. */
  initializer(stored: string, dtype: P.OnnxDType, shape: readonly number[], bytes: Uint8Array, path: string): void {
    if (bytes.byteLength <= INLINE_LIMIT || this.inline) this.initializers.push(P.tensorRaw(stored, dtype, shape, bytes.slice()));
    else {
      this.externalData.push({ path, data: bytes });
      this.initializers.push(P.tensorExternal(stored, dtype, shape, path, 0, bytes.byteLength));
    }
  }
}

