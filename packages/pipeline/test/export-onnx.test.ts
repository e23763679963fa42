// ONNX export round trip: the fixtures' models exported with exportSdxsOnnx, loaded back from the files by
// onnxruntime-node (a runtime that knows nothing of sdxs) and run on the fixtures' inputs.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as ort from 'onnxruntime-node';
import * as C from '@sdxs/core';
import { exportSdxsOnnx, type OnnxComponent, type OnnxModelIndex } from '../src/index.js';
import { diffusersCase, fixturesDir, skipUnless } from '@sdxs/core/testing';
import { floats, readReference, rows, type Reference } from '../../text-qwen/test/qwen-fixtures.js';

const QWEN = path.join(fixturesDir(), 'qwen', 'qwen35-tiny-tied');
const F16_BUDGET = 1e-2;
let work: string;
let model: string;

beforeAll(async () => {
  await C.setBackend('cpu');
  work = mkdtempSync(path.join(tmpdir(), 'sdxs-onnx-export-'));
  // an SDXS model folder made of the fixture cases
  model = path.join(work, 'model');
  mkdirSync(model);
  symlinkSync(diffusersCase('unet-tiny'), path.join(model, 'unet'));
  symlinkSync(diffusersCase('vae-tiny'), path.join(model, 'vae'));
  symlinkSync(QWEN, path.join(model, 'text_encoder'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function io(caseName: string): Promise<Map<string, { data: Float32Array; dims: number[] }>> {
  const f = await C.loadSafetensors(path.join(diffusersCase(caseName), 'io.safetensors'));
  const m = new Map<string, { data: Float32Array; dims: number[] }>();
  for (const n of f.names()) m.set(n, { data: Float32Array.from((await f.readTyped(n)) as Float32Array), dims: [...f.info(n).shape] });
  await f.close();
  return m;
}

const tolerance = (dir: string): { atol: number; rtol: number } => JSON.parse(readFileSync(path.join(dir, 'case.json'), 'utf8')).tolerance;

/** max|err| and max|err|/max|ref|, asserting atol + rtol·|ref| (float32) or the float16 budget. */
function expectMatch(got: Float32Array, want: Float32Array, label: string, tol: { atol: number; rtol: number } | 'float16'): void {
  expect(got.length, label).toBe(want.length);
  let err = 0;
  let ref = 0;
  let outside = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i]! - want[i]!);
    if (!(d <= Infinity)) outside++;
    err = Math.max(err, d);
    ref = Math.max(ref, Math.abs(want[i]!));
    if (tol !== 'float16' && d > tol.atol + tol.rtol * Math.abs(want[i]!)) outside++;
  }
  console.log(`[onnx export] ${label}: max|err| ${err.toExponential(2)}, / max|ref| ${(err / ref).toExponential(2)}`);
  if (tol === 'float16') expect(err / ref, label).toBeLessThanOrEqual(F16_BUDGET);
  else expect(outside, `${label}: values outside atol ${tol.atol} + rtol ${tol.rtol}·|ref| (max|err| ${err})`).toBe(0);
}

async function runExported(out: string, index: OnnxModelIndex, component: OnnxComponent, feeds: Record<string, ort.Tensor>): Promise<Record<string, Float32Array>> {
  const entry = index.components[component]!;
  const session = await ort.InferenceSession.create(path.join(out, entry.model));
  try {
    expect([...session.inputNames]).toEqual(entry.inputs.map((i) => i.name));
    expect([...session.outputNames]).toEqual(entry.outputs.map((o) => o.name));
    const res = await session.run(feeds);
    return Object.fromEntries(Object.entries(res).map(([k, v]) => [k, v.data as Float32Array]));
  } finally {
    await session.release();
  }
}

const t = (v: { data: Float32Array; dims: number[] }): ort.Tensor => new ort.Tensor('float32', v.data, v.dims);

describe.each(['float32', 'float16'] as const)('exported %s graphs, run by onnxruntime-node from the files', (compute) => {
  const tolFor = (dir: string): { atol: number; rtol: number } | 'float16' => (compute === 'float16' ? 'float16' : tolerance(dir));

  test('unet-tiny: out_sample matches diffusers', async () => {
    const out = path.join(work, `unet-${compute}`);
    const index = await exportSdxsOnnx(model, out, { components: ['unet'], compute, width: 160, height: 96, batch: 2, seq: 6 });
    expect(index.dynamicAxes).toBe(false);
    expect(index.components.unet!.inputs.map((i) => [i.name, i.shape])).toEqual([
      ['sample', [2, 32, 6, 10]],
      ['timestep', [2]],
      ['encoder_hidden_states', [2, 7, 24]],
      ['encoder_attention_mask', [2, 7]],
    ]);
    // the weights are outside the graph: the data file holds them, the model only names them
    expect(index.components.unet!.dataBytes).toBeGreaterThan(readFileSync(path.join(out, 'unet/model.onnx')).length);
    const x = await io('unet-tiny');
    const r = await runExported(out, index, 'unet', {
      sample: t(x.get('sample')!),
      timestep: t(x.get('timestep')!),
      encoder_hidden_states: t(x.get('encoder_hidden_states')!),
      encoder_attention_mask: t(x.get('encoder_attention_mask')!),
    });
    expectMatch(r.out_sample!, x.get('out')!.data, `${compute} unet-tiny`, tolFor(diffusersCase('unet-tiny')));
  });

  test('vae-tiny: encoder (mean, logvar) and decoder match diffusers', async () => {
    const out = path.join(work, `vae-${compute}`);
    // the encoder takes the 40 x 24 image; the decoder makes the 80 x 48 image of a 5 x 3 latent
    const enc = await exportSdxsOnnx(model, out, { components: ['vae-encoder'], compute, width: 40, height: 24 });
    const dec = await exportSdxsOnnx(model, out, { components: ['vae-decoder'], compute, width: 80, height: 48 });
    const x = await io('vae-tiny');
    const tol = tolFor(diffusersCase('vae-tiny'));
    const e = await runExported(out, enc, 'vae-encoder', { image: t(x.get('image')!) });
    expectMatch(e.latent_mean!, x.get('posterior_mean')!.data, `${compute} vae encode mean`, tol);
    expectMatch(e.latent_logvar!, x.get('posterior_logvar')!.data, `${compute} vae encode logvar`, tol);
    const d = await runExported(out, dec, 'vae-decoder', { latent: t(x.get('latent')!) });
    expectMatch(d.sample!, x.get('decoded')!.data, `${compute} vae decode`, tol);
  });

  test('qwen35-tiny-tied: text encoder hidden_states equal hidden_states[-2]', async () => {
    const ref: Reference = await readReference('qwen35-tiny-tied');
    const ids = rows(ref, 'input_ids');
    const mask = rows(ref, 'attention_mask');
    const [b, s] = [ids.length, ids[0]!.length];
    const out = path.join(work, `text-${compute}`);
    const index = await exportSdxsOnnx(model, out, { components: ['text-encoder'], compute, batch: b, seq: s });
    const r = await runExported(out, index, 'text-encoder', {
      input_ids: new ort.Tensor('int32', Int32Array.from(ids.flat()), [b, s]),
      attention_mask: new ort.Tensor('float32', Float32Array.from(mask.flat()), [b, s]),
    });
    const cj = JSON.parse(readFileSync(path.join(QWEN, 'case.json'), 'utf8')) as { checks: { name: string; atol: number; rtol: number }[] };
    const check = cj.checks.find((c) => c.name === 'encoder_hidden_states')!;
    const L = JSON.parse(readFileSync(path.join(QWEN, 'config.json'), 'utf8')).num_hidden_layers as number;
    expectMatch(r.hidden_states!, floats(ref, `hidden_states_${L - 1}`), `${compute} text encoder`, compute === 'float16' ? 'float16' : check);
  });
});

test('the model index names every part, its files and the fixed sizes', async () => {
  const out = path.join(work, 'index');
  const index = await exportSdxsOnnx(model, out, { components: ['vae-decoder', 'unet'], width: 80, height: 48, batch: 1, seq: 4 });
  const onDisk = JSON.parse(readFileSync(path.join(out, 'model_index.json'), 'utf8')) as OnnxModelIndex;
  expect(onDisk).toEqual(index);
  expect(Object.keys(onDisk.components)).toEqual(['vae-decoder', 'unet']);
  for (const c of Object.values(onDisk.components)) {
    for (const f of [c.model, c.data, c.config]) expect(existsSync(path.join(out, f)), f).toBe(true);
    expect(readFileSync(path.join(out, c.data)).length).toBe(c.dataBytes);
    for (const i of [...c.inputs, ...c.outputs]) expect(i.meaning.length, i.name).toBeGreaterThan(0);
  }
  expect(onDisk.components.unet!.inputs[0]!.shape).toEqual([1, 32, 3, 5]);
  expect(onDisk.components['vae-decoder']!.outputs[0]!.shape).toEqual([1, 3, 48, 80]);
});

test('sizes that do not fit the model are refused before anything is written', async () => {
  const out = path.join(work, 'bad');
  await expect(exportSdxsOnnx(model, out, { components: ['vae-decoder'], width: 81, height: 48 })).rejects.toThrow(/multiples of 16/);
  await expect(exportSdxsOnnx(model, out, { components: ['unet'], batch: 0 })).rejects.toThrow(/batch must be a positive integer/);
  expect(existsSync(out)).toBe(false);
});

describe('--portable exports', () => {
  let out: string;
  let index: OnnxModelIndex;
  beforeAll(async () => {
    out = path.join(work, 'portable');
    index = await exportSdxsOnnx(model, out, { components: ['unet', 'vae-decoder', 'text-encoder'], portable: true, width: 160, height: 96, batch: 2, seq: 6 });
  });

  test('hold no com.microsoft ops and import only the standard domain', () => {
    expect(index.opsets).toEqual({ '': 21 });
    for (const c of Object.values(index.components)) expect(readFileSync(path.join(out, c.model)).includes('com.microsoft'), c.model).toBe(false);
  });

  test('still match diffusers (unet-tiny)', async () => {
    const x = await io('unet-tiny');
    const r = await runExported(out, index, 'unet', {
      sample: t(x.get('sample')!),
      timestep: t(x.get('timestep')!),
      encoder_hidden_states: t(x.get('encoder_hidden_states')!),
      encoder_attention_mask: t(x.get('encoder_attention_mask')!),
    });
    expectMatch(r.out_sample!, x.get('out')!.data, 'portable unet-tiny', tolerance(diffusersCase('unet-tiny')));
  });

  // Python's onnx package: SDXS_PYTHON, else python3, when it can import onnx
  const python = [process.env.SDXS_PYTHON, 'python3'].find((p) => {
    if (!p) return false;
    try {
      execFileSync(p, ['-c', 'import onnx'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
  // CI has it when .ci/run found the onnx wheel, and then it sets SDXS_PYTHON
  const noPython = skipUnless(python !== undefined, 'onnx.checker.check_model(full_check=True) on the portable export: no Python with the onnx package (set SDXS_PYTHON to one)', {
    ciRequired: process.env.SDXS_PYTHON !== undefined,
  });
  test.skipIf(noPython)('pass onnx.checker.check_model(full_check=True)', () => {
    for (const c of Object.values(index.components)) {
      const file = path.join(out, c.model);
      const said = execFileSync(python!, ['-c', 'import onnx,sys; onnx.checker.check_model(sys.argv[1], full_check=True); print("checked", onnx.__version__)', file], { encoding: 'utf8' });
      expect(said, c.model).toMatch(/^checked /);
    }
  });
});
