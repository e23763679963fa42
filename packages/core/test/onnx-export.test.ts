// exportOnnx on a small module: what the file holds, and the steps a recorded graph cannot hold.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import * as ort from 'onnxruntime-node';
import * as C from '../src/index.js';

let work: string;
beforeAll(async () => {
  await C.setBackend('cpu');
  work = mkdtempSync(path.join(tmpdir(), 'sdxs-core-export-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const W = Float32Array.from({ length: 32 }, (_, i) => (i - 15) / 16);
const B = Float32Array.from([0.5, -1, 2, 0]);

/** A Linear 8 -> 4 with fixed weights, loaded on whatever backend is active. */
async function linear(): Promise<C.nn.Linear> {
  const l = new C.nn.Linear(8, 4);
  l.loadStateDict({ weight: C.tensor(W, [4, 8]), bias: C.tensor(B, [4]) });
  return l;
}

/** Write an export and run it with onnxruntime-node from the files. */
async function runFile(e: C.OnnxExport, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  const dir = mkdtempSync(path.join(work, 'm-'));
  writeFileSync(path.join(dir, 'model.onnx'), e.model);
  writeFileSync(path.join(dir, e.dataFile), Buffer.concat(e.data));
  const s = await ort.InferenceSession.create(path.join(dir, 'model.onnx'));
  try {
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

const x = Float32Array.from({ length: 16 }, (_, i) => Math.sin(i));

async function expected(fn: (l: C.nn.Linear, t: C.Tensor) => C.Tensor): Promise<Float32Array> {
  const l = await linear();
  const y = (await fn(l, C.tensor(x, [2, 8])).data()) as Float32Array;
  l.dispose();
  return y;
}

test('a Linear exports with public names and its weights in the data file, and runs from the files', async () => {
  const e = await C.exportOnnx({ label: 'lin', load: linear, inputs: [{ name: 'x', shape: [2, 8] }], forward: (l, i) => ({ y: l.forward(i.x!) }) });
  expect(e.inputs).toEqual([{ name: 'x', dtype: 'float32', shape: [2, 8] }]);
  expect(e.outputs).toEqual([{ name: 'y', dtype: 'float32', shape: [2, 4] }]);
  expect(e.dataBytes).toBe(W.byteLength); // the weight (the 16-byte bias is written inline)
  const r = await runFile(e, { x: new ort.Tensor('float32', x, [2, 8]) });
  const want = await expected((l, t) => l.forward(t));
  expect(Array.from(r.y!.data as Float32Array).map((v) => +v.toFixed(5))).toEqual(Array.from(want).map((v) => +v.toFixed(5)));
});

test('a value the forward made itself stays float32 in a float16 graph (a mask minimum beyond float16)', async () => {
  // max(y, -1e30) is y; as a float16 weight -1e30 would not even load (beyond ±65504)
  const forward = (l: C.nn.Linear, i: Readonly<Record<string, C.Tensor>>): Record<string, C.Tensor> => ({ y: C.maximum(l.forward(i.x!), C.tensor([-1e30], [1])) });
  const e = await C.exportOnnx({ label: 'masked', load: linear, inputs: [{ name: 'x', shape: [2, 8] }], forward, compute: 'float16' });
  expect(e.inputs.map((i) => i.name)).toEqual(['x']);
  const r = await runFile(e, { x: new ort.Tensor('float32', x, [2, 8]) });
  const want = await expected((l, t) => l.forward(t));
  const got = r.y!.data as Float32Array;
  for (let k = 0; k < want.length; k++) expect(Math.abs(got[k]! - want[k]!)).toBeLessThan(1e-2);
});

test('an input the graph does not use, a forward that reads a value, and an output that is an input are refused', async () => {
  const inputs = [{ name: 'x', shape: [2, 8] }, { name: 'unused', shape: [1] }];
  await expect(C.exportOnnx({ label: 'u', load: linear, inputs, forward: (l, i) => ({ y: l.forward(i.x!) }) })).rejects.toThrow(/input 'unused' is not used/);
  const reads = (l: C.nn.Linear, i: Readonly<Record<string, C.Tensor>>): Record<string, C.Tensor> => {
    const y = l.forward(i.x!);
    return { y: C.mul(y, y.dataSync()[0]!) };
  };
  await expect(C.exportOnnx({ label: 'r', load: linear, inputs: [{ name: 'x', shape: [2, 8] }], forward: reads })).rejects.toThrow(/read a value while its forward was being recorded/);
  await expect(C.exportOnnx({ label: 'id', load: linear, inputs: [{ name: 'x', shape: [2, 8] }], forward: (_l, i) => ({ y: i.x! }) })).rejects.toThrow(/output 'y' is not computed from the inputs/);
  // the backend that was active before is active again
  expect(C.getBackend()).toBe('cpu');
});
