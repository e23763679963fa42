/**
 * ONNX export: a model's forward is recorded on a graph backend that never runs anything, the recorded graph
 * is lowered by the same `lowerSegment` the ort-* backends compile with, and the result becomes an ONNX file
 * (public input/output names, weights in one external data file). The recorded graph is static: every
 * reshape, pad and resize holds the sizes of the example inputs, so an export is for one set of input shapes.
 */
import type { Backend, ComputePrecision } from '../backend.js';
import { ENGINE, fromData } from '../engine.js';
import { InputError, SdxsError } from '../errors.js';
import { createLazyBackend } from '../graph/lazy-backend.js';
import { bf16ToF32, f16ToF32 } from '../io/half.js';
import type { LazyValue } from '../graph/lazy-value.js';
import { planSegment, type Segment } from '../graph/segment.js';
import { lowerSegment } from '../onnx/lower.js';
import type { Tensor } from '../tensor.js';
import { toOnnxFile } from './onnx-file.js';

export interface OnnxTensorInfo {
  name: string;
  dtype: 'float32' | 'int32';
  shape: number[];
}

export interface ExportOnnxSpec<M extends { dispose(): void }> {
  /** the graph's name */
  label: string;
  /** Load the model (its weights are recorded as the graph's initializers). */
  load(): Promise<M>;
  /** The graph's inputs, in order. */
  inputs: readonly { name: string; shape: readonly number[]; dtype?: 'float32' | 'int32' }[];
  /** The forward to record: named outputs of the named inputs. */
  forward(model: M, inputs: Readonly<Record<string, Tensor>>): Record<string, Tensor>;
  /**
   * float32 graphs (default), mixed-precision float16 graphs (float16 weights; float32 inputs and outputs), or
   * int8 (float32 graphs with int8 weights in com.microsoft products: ONNX Runtime's CPU provider, not portable).
   */
  compute?: ComputePrecision;
  /** standard ONNX only (no com.microsoft ops), for runtimes other than ONNX Runtime */
  portable?: boolean;
  /** the external data file's name as written in the model (default `model.onnx.data`) */
  dataFile?: string;
}

export interface OnnxExport {
  /** the ONNX model (its initializers point into `dataFile`) */
  model: Uint8Array;
  /** the external data file's contents, in order */
  data: Uint8Array[];
  dataBytes: number;
  dataFile: string;
  inputs: OnnxTensorInfo[];
  outputs: OnnxTensorInfo[];
  compute: ComputePrecision;
  portable: boolean;
  /** ONNX operator domains the graph imports ('' is the standard ai.onnx domain) */
  opsets: Record<string, number>;
}

const recordingRunner = {
  run(): never {
    throw new SdxsError('UNSUPPORTED', 'ONNX export: the model read a value while its forward was being recorded (a data-dependent step cannot be exported)');
  },
  runSync(): never {
    return recordingRunner.run();
  },
};

/** Record `spec.forward` and lower it to an ONNX file. */
export async function exportOnnx<M extends { dispose(): void }>(spec: ExportOnnxSpec<M>): Promise<OnnxExport> {
  const compute = spec.compute ?? 'float32';
  const portable = spec.portable ?? false;
  if (portable && compute === 'int8') throw new InputError(`ONNX export '${spec.label}': int8 graphs use ONNX Runtime's com.microsoft int8 products, which portable (standard ONNX only) graphs cannot hold`);
  const dataFile = spec.dataFile ?? 'model.onnx.data';
  const names = new Set<string>();
  for (const i of spec.inputs) {
    if (names.has(i.name)) throw new InputError(`ONNX export '${spec.label}': input name '${i.name}' given twice`);
    names.add(i.name);
    if (i.shape.some((d) => !Number.isInteger(d) || d < 1)) throw new InputError(`ONNX export '${spec.label}': input '${i.name}' needs positive integer sizes, got [${i.shape.join(', ')}]`);
  }
  const recorder = createLazyBackend('onnx-export', recordingRunner, { compute });
  const previous = ENGINE.active;
  ENGINE.active = recorder as unknown as Backend;
  let model: M | null = null;
  try {
    model = await spec.load();
    const inputs: Record<string, Tensor> = {};
    for (const i of spec.inputs) {
      const n = i.shape.reduce((a, b) => a * b, 1);
      inputs[i.name] = fromData(i.dtype === 'int32' ? new Int32Array(n) : new Float32Array(n), i.shape, i.dtype ?? 'float32');
    }
    const outputs = spec.forward(model, inputs);
    const segment = namedSegment(spec.label, inputs, outputs);
    const lowered = lowerSegment(segment.seg, {
      compute: compute === 'int8' ? 'float32' : compute,
      int8: compute === 'int8',
      portable,
      // ONNX Runtime's fused attention, with key/value as [B, S, H*D]: the layout every provider takes
      fusedAttention: !portable,
      attentionKvLayout: 'bsd',
      transposedMatMul: false,
    });
    const rename = new Map<string, string>();
    const baked = new Map<string, { dtype: 'float32' | 'int32'; dims: number[]; data: Float32Array | Int32Array }>();
    lowered.inputNames.forEach((n, i) => {
      if (i < segment.inputs.length) rename.set(n, segment.inputs[i]!.name);
      else baked.set(n, hostValue(segment.seg.inputs[i]!));
    });
    lowered.outputNames.forEach((n, i) => rename.set(n, segment.outputs[i]!.name));
    const file = toOnnxFile(lowered.bytes, { rename, externalData: lowered.externalData, dataFile, baked });
    return {
      ...file,
      dataFile,
      inputs: segment.inputs,
      outputs: segment.outputs,
      compute,
      portable,
      opsets: portable ? { '': 21 } : { '': 21, 'com.microsoft': 1 },
    };
  } finally {
    model?.dispose();
    ENGINE.active = previous;
  }
}

/** A leaf's values as the compiled graph would be fed them (16-bit storage widened to float32). */
function hostValue(v: LazyValue): { dtype: 'float32' | 'int32'; dims: number[]; data: Float32Array | Int32Array } {
  const data = v.data ?? (v.storage!.dtype === 'float16' ? f16ToF32(v.storage!.bits) : bf16ToF32(v.storage!.bits));
  return { dtype: v.dtype, dims: [...v.shape], data };
}

/**
 * The one segment computing `outputs` from the named inputs, which come first; every other leaf the forward
 * created (tables, a mask minimum) follows them as an input, to be written into the file in its own type
 * (float32 in a float16 graph too, as a compiled session is fed it).
 */
function namedSegment(label: string, inputs: Record<string, Tensor>, outputs: Record<string, Tensor>): { seg: Segment; inputs: OnnxTensorInfo[]; outputs: OnnxTensorInfo[] } {
  const outNames = Object.keys(outputs);
  if (!outNames.length) throw new InputError(`ONNX export '${label}': the forward returned no outputs`);
  const handle = (t: Tensor): LazyValue => t.handle as LazyValue;
  const outValues = outNames.map((n) => handle(outputs[n]!));
  outValues.forEach((v, i) => {
    if (!v.pending) throw new InputError(`ONNX export '${label}': output '${outNames[i]}' is not computed from the inputs`);
  });
  const planned = planSegment(outValues, label);
  const used = new Set(planned.inputs);
  const inNames = Object.keys(inputs);
  const inValues = inNames.map((n) => handle(inputs[n]!));
  inValues.forEach((v, i) => {
    if (!used.has(v)) throw new InputError(`ONNX export '${label}': input '${inNames[i]}' is not used by the recorded graph`);
  });
  const own = new Set(inValues);
  const seg: Segment = {
    ...planned,
    inputs: [...inValues, ...planned.inputs.filter((v) => !own.has(v))],
  };
  const info = (name: string, v: LazyValue): OnnxTensorInfo => ({ name, dtype: v.dtype, shape: [...v.shape] });
  return { seg, inputs: inNames.map((n, i) => info(n, inValues[i]!)), outputs: outNames.map((n, i) => info(n, outValues[i]!)) };
}
