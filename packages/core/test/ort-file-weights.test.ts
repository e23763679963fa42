/**
 * 16-bit weights of local safetensors files on the compiled backends: ONNX Runtime reads them from the file
 * itself (onnxruntime-node), so the host never holds them; weights converted at load (bfloat16 → float16 for a
 * float16 graph) leave host memory once the session holds them. Either kind is read again when the host needs
 * it, and a file changed on disk since loading is refused instead of read.
 */
import { mkdtempSync, rmSync, utimesSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import * as C from '@sdxs/core';
import type { HostStorage } from '../src/io/host-storage.js';
import { expectClose, forEachBackend, HALF_BUDGET, relMaxError } from '@sdxs/core/testing';

class Block extends C.Module {
  readonly proj = new C.nn.Linear(16, 32, true);
  readonly out = new C.nn.Linear(32, 8, false);
  readonly forward = C.compile('file-block', (x: C.Tensor) => this.out.forward(C.gelu(this.proj.forward(x))));
}

const SHAPES: Record<string, number[]> = { 'proj.weight': [32, 16], 'proj.bias': [32], 'out.weight': [8, 32] };
const dir = mkdtempSync(path.join(tmpdir(), 'sdxs-file-weights-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A checkpoint of the block in one dtype; returns the float32 values its 16-bit words stand for. */
async function writeBlock(file: string, dtype: 'F16' | 'BF16', seed: number): Promise<Map<string, Float32Array>> {
  const g = new C.RandomGenerator(seed);
  const tensors: C.SafetensorsTensorMap = {};
  const values = new Map<string, Float32Array>();
  for (const [k, shape] of Object.entries(SHAPES)) {
    const v = g.fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1)), 0, 0.3);
    const bits = dtype === 'F16' ? C.f32ToF16(v) : C.f32ToBf16(v);
    tensors[k] = { dtype, shape, data: bits };
    values.set(k, dtype === 'F16' ? C.f16ToF32(bits) : C.bf16ToF32(bits));
  }
  await C.saveSafetensors(file, tensors);
  return values;
}

/** The block's output on the eager cpu backend from float32 weights (the values the 16-bit words hold). */
async function reference(values: Map<string, Float32Array>, x: Float32Array): Promise<Float32Array> {
  const active = C.getBackend();
  const compute = C.computeOf(C.currentBackend());
  await C.setBackend('cpu');
  try {
    const b = new Block();
    b.loadStateDict(new Map([...values].map(([k, v]) => [k, C.tensor(v, SHAPES[k]!)])));
    const y = b.forward(C.tensor(x, [2, 16]));
    const d = (await y.data()) as Float32Array;
    C.dispose([y]);
    b.dispose();
    return d;
  } finally {
    await C.setBackend(active, { compute });
  }
}

const hostOf = (p: C.Parameter): HostStorage => p.value.handle as HostStorage;

/** A block loaded from checkpoint files (each opened, loaded and closed), with per-file loadWeights options. */
async function loadBlock(...parts: [string, C.LoadWeightsOptions?][]): Promise<Block> {
  const b = new Block();
  for (const [file, opts] of parts) {
    const st = await C.loadSafetensors(file);
    await C.loadWeights(b, st, opts);
    await st.close();
  }
  return b;
}

forEachBackend(
  (name) => {
    const half = name.endsWith(':float16');
    // float32 graphs: the float32 reference to float rounding; float16 graphs: the project's float16 budget
    const check = (got: Float32Array, want: Float32Array, label: string): void => {
      if (half) expect(relMaxError(got, want), label).toBeLessThanOrEqual(HALF_BUDGET);
      else expectClose(got, want, 1e-4, 1e-4, label);
    };
    const xs = new C.RandomGenerator(9).fillNormal(new Float32Array(2 * 16));

    test('float16 weights of a local file are read by ONNX Runtime from the file, never by the host', async () => {
      const file = path.join(dir, `f16-${name.replace(/[^a-z0-9]/gi, '_')}.safetensors`);
      const values = await writeBlock(file, 'F16', 1);
      const want = await reference(values, xs);
      const b = await loadBlock([file]);
      // loading read nothing of the tensors' bytes: the 16-bit weights are where they lie in the file
      expect(hostOf(b.proj.weight).resident).toBe(false);
      // rows are read from the file alone, leaving the rest there (an embedding lookup)
      const f16 = C.f32ToF16(values.get('proj.weight')!);
      expect(Array.from(C.storageRows(b.proj.weight.value, [3, 0], 16))).toEqual([...f16.subarray(48, 64), ...f16.subarray(0, 16)]);
      expect(hostOf(b.proj.weight).resident).toBe(false);
      const x = C.tensor(xs, [2, 16]);
      const y = b.forward(x);
      check((await y.data()) as Float32Array, want, `${name} from the file`);
      C.dispose([x, y]);
      expect(hostOf(b.proj.weight).resident).toBe(false);
      expect(hostOf(b.out.weight).resident).toBe(false);
      // the host reads a weight again when it needs it, bit for bit
      const bits = (await b.proj.weight.value.data()) as Uint16Array;
      expect(Array.from(bits)).toEqual(Array.from(C.f32ToF16(values.get('proj.weight')!)));
      b.dispose();
    });

    test('a weights file changed on disk after loading is refused by name, not read', async () => {
      const file = path.join(dir, `changed-${name.replace(/[^a-z0-9]/gi, '_')}.safetensors`);
      await writeBlock(file, 'F16', 2);
      const b = await loadBlock([file]);
      // same size, other contents and time: another training run saved over it
      const bytes = readFileSync(file);
      bytes[bytes.length - 1]! ^= 0x40;
      writeFileSync(file, bytes);
      utimesSync(file, new Date(), new Date(Date.now() + 5000));
      const x = C.tensor(xs, [2, 16]);
      const y = b.forward(x);
      await expect(y.data()).rejects.toThrow(/changed on disk since the weights were loaded/);
      await expect(b.out.weight.value.data()).rejects.toThrow(new RegExp(`changed-.*safetensors`));
      C.dispose([x, y]);
      b.dispose();
    });

    test('weights converted at load (bfloat16 → float16 graphs) leave host memory once the session holds them', async () => {
      const file = path.join(dir, `bf16-${name.replace(/[^a-z0-9]/gi, '_')}.safetensors`);
      const values = await writeBlock(file, 'BF16', 3);
      const want = await reference(values, xs);
      const b = await loadBlock([file]);
      // float16 graphs convert bfloat16 once, at load (kept on the host until a session has it); float32
      // graphs read the bfloat16 words from the file like float16 ones
      expect(hostOf(b.proj.weight).resident).toBe(half);
      expect(b.proj.weight.dtype).toBe(half ? 'float16' : 'bfloat16');
      const x = C.tensor(xs, [2, 16]);
      const y = b.forward(x);
      check((await y.data()) as Float32Array, want, `${name} bfloat16 file`);
      C.dispose([x, y]);
      expect(hostOf(b.proj.weight).resident).toBe(false);
      const back = (await b.proj.weight.value.data()) as Uint16Array;
      const v = values.get('proj.weight')!;
      expect(Array.from(back)).toEqual(Array.from(half ? C.f32ToF16(v) : C.f32ToBf16(v)));
      b.dispose();
    });

    // ONNX Runtime reads external data from one folder, and from files or from memory but not both: the runner
    // points into the first folder's file and puts the other weights inline; the output shows both were right
    test('a graph whose weights come from files in two folders gives the same output', async () => {
      const other = mkdtempSync(path.join(dir, 'other-'));
      const fileA = path.join(dir, `a-${name.replace(/[^a-z0-9]/gi, '_')}.safetensors`);
      const fileB = path.join(other, 'b.safetensors');
      const values = await writeBlock(fileA, 'F16', 4);
      // the same tensors in a second folder; the block takes `out` from there
      await C.saveSafetensors(fileB, { 'out.weight': { dtype: 'F16', shape: SHAPES['out.weight']!, data: C.f32ToF16(values.get('out.weight')!) } });
      const want = await reference(values, xs);
      const b = await loadBlock([fileA, { skip: (k) => k === 'out.weight', strict: false }], [fileB, { strict: false }]);
      const x = C.tensor(xs, [2, 16]);
      const y = b.forward(x);
      check((await y.data()) as Float32Array, want, `${name} two folders`);
      C.dispose([x, y]);
      b.dispose();
    });
  },
  { backends: ['ort-cpu', 'ort-cpu:float16'] },
);
