/**
 * The device run's parity checks: the shared fixtures (diffusers / transformers outputs of tiny random models)
 * run on one backend at one compute precision. Each output is compared with the reference and, when a file of
 * ort-cpu float32 outputs is given, with ort-cpu; the outputs can be saved for the later backends to compare with.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as C from '@sdxs/core';
import { FlowMatchEulerDiscreteScheduler, sampleFlowMatch } from '@sdxs/sampler';
import { Qwen35ForCausalLM } from '@sdxs/text-qwen';
import { UNet2DConditionModel } from '@sdxs/unet';
import { AsymmetricAutoencoderKL } from '@sdxs/vae';

/** Accuracy budget of float16 compute (issue 16): max |error| / max |reference| on every output. */
export const HALF_BUDGET = 1e-2;

/** One output of one fixture case, compared. */
export interface ParityCheck {
  name: string;
  shape: number[];
  maxAbsRef: number;
  /** max |ours - reference| */
  maxAbsErr: number;
  /** maxAbsErr / maxAbsRef */
  relErr: number;
  /** max |ours - ort-cpu float32| / maxAbsRef, when the ort-cpu outputs were given */
  relErrVsOrtCpu: number | null;
  /** float32: within the case's atol + rtol·|ref|; float16: relErr ≤ HALF_BUDGET */
  pass: boolean;
  /** why the case could not run (then the numbers are NaN) */
  error?: string;
}

export interface ParityOutcome {
  checks: ParityCheck[];
  /** the outputs by check name (host float32), to save for the later backends */
  outputs: Map<string, { shape: number[]; data: Float32Array }>;
}

interface Tolerance {
  atol: number;
  rtol: number;
}

/** A case's outputs (lazy on a graph backend: computed when read) and the models they need until then. */
interface Outputs {
  outs: { name: string; actual: C.Tensor; expected: C.Tensor }[];
  models: { dispose(): void }[];
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;

async function readAll(file: string): Promise<Map<string, C.Tensor>> {
  const f = await C.loadSafetensors(file);
  const m = new Map<string, C.Tensor>();
  try {
    // float tensors only: ids and masks stored as integers are read where they are used
    for (const n of f.names()) if (/^(F|BF)\d+$/.test(f.info(n).dtype)) m.set(n, await C.readTensor(f, n));
  } finally {
    await f.close();
  }
  return m;
}

/** The fixture tensors that are not among the compared references (inputs), to dispose with the models. */
function inputsOf(io: Map<string, C.Tensor>, outs: Outputs['outs']): { dispose(): void } {
  const refs = new Set(outs.map((o) => o.expected));
  return { dispose: () => C.dispose([...io.values()].filter((t) => !refs.has(t))) };
}

function need(io: Map<string, C.Tensor>, key: string, file: string): C.Tensor {
  const t = io.get(key);
  if (!t) throw new C.InputError(`${file}: no tensor '${key}'`);
  return t;
}

async function vaeCase(dir: string): Promise<Outputs> {
  const file = path.join(dir, 'io.safetensors');
  const io = await readAll(file);
  const vae = await AsymmetricAutoencoderKL.fromPretrained(dir);
  const post = vae.encode(need(io, 'image', file));
  const decoded = vae.decode(need(io, 'latent', file));
  const upscaled = vae.decode(post.mean);
  const outs = [
    { name: 'encode.mean', actual: post.mean, expected: need(io, 'posterior_mean', file) },
    { name: 'encode.logvar', actual: post.logvar, expected: need(io, 'posterior_logvar', file) },
    { name: 'decode', actual: decoded, expected: need(io, 'decoded', file) },
    { name: 'upscale', actual: upscaled, expected: need(io, 'upscaled', file) },
  ];
  return { outs, models: [vae, inputsOf(io, outs)] };
}

async function unetCase(dir: string): Promise<Outputs> {
  const file = path.join(dir, 'io.safetensors');
  const io = await readAll(file);
  const unet = await UNet2DConditionModel.fromPretrained(dir);
  const out = unet.forward(need(io, 'sample', file), need(io, 'timestep', file), need(io, 'encoder_hidden_states', file), need(io, 'encoder_attention_mask', file));
  const outs = [{ name: 'out', actual: out, expected: need(io, 'out', file) }];
  return { outs, models: [unet, inputsOf(io, outs)] };
}

async function pipelineCase(root: string): Promise<Outputs> {
  const dir = path.join(root, 'diffusers/pipeline-tiny');
  const spec = readJson<{ steps: number; guidance_scale: number; scheduler_shift: number }>(path.join(dir, 'case.json'));
  const file = path.join(dir, 'io.safetensors');
  const io = await readAll(file);
  const unet = await UNet2DConditionModel.fromPretrained(path.join(root, 'diffusers/unet-tiny'));
  const vae = await AsymmetricAutoencoderKL.fromPretrained(path.join(root, 'diffusers/vae-tiny'));
  const latents = await sampleFlowMatch({
    unet,
    scheduler: FlowMatchEulerDiscreteScheduler.fromConfig({ shift: spec.scheduler_shift }),
    initNoise: need(io, 'init_noise', file),
    cond: need(io, 'cond', file),
    condMask: need(io, 'cond_mask', file),
    uncond: need(io, 'uncond', file),
    uncondMask: need(io, 'uncond_mask', file),
    steps: spec.steps,
    guidanceScale: spec.guidance_scale,
  });
  const image = C.tidy(() => C.div(C.add(C.clamp(vae.decode(vae.denormalizeLatents(latents)), -1, 1), 1), 2));
  const outs = [
    { name: 'latents', actual: latents, expected: need(io, 'latents', file) },
    { name: 'image', actual: image, expected: need(io, 'image', file) },
  ];
  return { outs, models: [unet, vae, inputsOf(io, outs)] };
}

async function qwenCase(dir: string): Promise<Outputs> {
  const file = path.join(dir, 'io.safetensors');
  const f = await C.loadSafetensors(file);
  const ints = async (key: string): Promise<number[][]> => {
    const [b, s] = f.info(key).shape as [number, number];
    const raw = Array.from((await f.readTyped(key)) as ArrayLike<number | bigint>, (v) => Number(v));
    return Array.from({ length: b }, (_, i) => raw.slice(i * s, (i + 1) * s));
  };
  const ids = await ints('input_ids');
  const mask = await ints('attention_mask');
  await f.close();
  const io = await readAll(file);
  const lm = await Qwen35ForCausalLM.fromPretrained(dir);
  const out = lm.forward(ids, mask, { outputHiddenStates: true });
  const hs = out.hiddenStates ?? [];
  const layers = lm.config.numHiddenLayers;
  const penultimate = hs[layers - 1];
  if (!penultimate) throw new C.InputError(`${dir}: the model returned ${hs.length} hidden states, expected ${layers + 1}`);
  const outs = [
    { name: 'hidden_states[-2]', actual: penultimate, expected: need(io, `hidden_states_${layers - 1}`, file) },
    { name: 'last_hidden_state', actual: out.lastHiddenState, expected: need(io, 'last_hidden_state', file) },
  ];
  const rest = [out.logits, ...hs.filter((h) => h !== penultimate && h !== out.lastHiddenState)];
  return { outs, models: [lm, { dispose: () => C.dispose(rest) }, inputsOf(io, outs)] };
}

/** The fixture cases the device run checks, each with the folder that holds its case.json tolerance. */
export const PARITY_CASES: readonly { name: string; caseDir: string; run: (root: string) => Promise<Outputs> }[] = [
  { name: 'vae-tiny', caseDir: 'diffusers/vae-tiny', run: (r) => vaeCase(path.join(r, 'diffusers/vae-tiny')) },
  { name: 'unet-tiny', caseDir: 'diffusers/unet-tiny', run: (r) => unetCase(path.join(r, 'diffusers/unet-tiny')) },
  { name: 'unet-tiny-linear', caseDir: 'diffusers/unet-tiny-linear', run: (r) => unetCase(path.join(r, 'diffusers/unet-tiny-linear')) },
  { name: 'pipeline-tiny', caseDir: 'diffusers/pipeline-tiny', run: pipelineCase },
  { name: 'qwen35-tiny-tied', caseDir: 'qwen/qwen35-tiny-tied', run: (r) => qwenCase(path.join(r, 'qwen/qwen35-tiny-tied')) },
];

/** Fixture files the parity cases read (what pack.sh copies into the carry folder), relative to the fixtures root. */
export const PARITY_FILES: readonly string[] = [
  ...['vae-tiny', 'unet-tiny', 'unet-tiny-linear'].flatMap((c) => ['config.json', 'diffusion_pytorch_model.safetensors', 'io.safetensors', 'case.json'].map((f) => `diffusers/${c}/${f}`)),
  'diffusers/pipeline-tiny/io.safetensors',
  'diffusers/pipeline-tiny/case.json',
  ...['config.json', 'model.safetensors', 'io.safetensors', 'case.json'].map((f) => `qwen/qwen35-tiny-tied/${f}`),
];

function tolerance(root: string, caseDir: string): Tolerance {
  const j = readJson<{ tolerance?: Tolerance; checks?: (Tolerance & { name: string })[] }>(path.join(root, caseDir, 'case.json'));
  if (j.tolerance) return j.tolerance;
  const enc = j.checks?.find((c) => c.name === 'encoder_hidden_states');
  if (enc) return { atol: enc.atol, rtol: enc.rtol };
  throw new C.InputError(`${path.join(root, caseDir, 'case.json')}: no tolerance`);
}

/** Runs the parity cases (all, or those named in `only`) on the active backend; `against` holds ort-cpu float32's outputs by `case/check`. */
export async function runParity(
  root: string,
  half: boolean,
  against: Map<string, Float32Array> | null,
  onCheck: (c: ParityCheck, caseSeconds: number) => void = () => {},
  only?: readonly string[],
): Promise<ParityOutcome> {
  const checks: ParityCheck[] = [];
  const outputs: ParityOutcome['outputs'] = new Map();
  const push = (c: ParityCheck, t0: number): void => {
    checks.push(c);
    onCheck(c, (performance.now() - t0) / 1000);
  };
  for (const kase of PARITY_CASES.filter((k) => !only || only.includes(k.name))) {
    const t0 = performance.now();
    const tol = tolerance(root, kase.caseDir);
    let outs: Outputs;
    try {
      outs = await kase.run(root);
    } catch (e) {
      push({ name: kase.name, shape: [], maxAbsRef: NaN, maxAbsErr: NaN, relErr: NaN, relErrVsOrtCpu: null, pass: false, error: (e as Error).message.split('\n')[0] }, t0);
      continue;
    }
    try {
      for (const o of outs.outs) {
        const key = `${kase.name}/${o.name}`;
        let actual: Float32Array;
        try {
          actual = (await o.actual.data()) as Float32Array;
        } catch (e) {
          push({ name: key, shape: [...o.actual.shape], maxAbsRef: NaN, maxAbsErr: NaN, relErr: NaN, relErrVsOrtCpu: null, pass: false, error: (e as Error).message.split('\n')[0] }, t0);
          continue;
        }
        const expected = (await o.expected.data()) as Float32Array;
        if (actual.length !== expected.length) throw new C.InputError(`${key}: ${actual.length} values, the reference has ${expected.length}`);
        let maxRef = 0;
        let maxErr = 0;
        let excess = -Infinity;
        for (let i = 0; i < actual.length; i++) {
          const e = Math.abs(actual[i]! - expected[i]!);
          maxRef = Math.max(maxRef, Math.abs(expected[i]!));
          maxErr = Number.isNaN(e) ? Infinity : Math.max(maxErr, e);
          excess = Math.max(excess, e - (tol.atol + tol.rtol * Math.abs(expected[i]!)));
        }
        const ref = against?.get(key);
        let vsCpu: number | null = null;
        if (ref && ref.length === actual.length) {
          let m = 0;
          for (let i = 0; i < actual.length; i++) m = Math.max(m, Math.abs(actual[i]! - ref[i]!));
          vsCpu = m / (maxRef || 1);
        }
        const rel = maxErr / (maxRef || 1);
        push({ name: key, shape: [...o.actual.shape], maxAbsRef: maxRef, maxAbsErr: maxErr, relErr: rel, relErrVsOrtCpu: vsCpu, pass: half ? rel <= HALF_BUDGET : excess <= 0 && Number.isFinite(maxErr) }, t0);
        outputs.set(key, { shape: [...o.actual.shape], data: Float32Array.from(actual) });
      }
    } finally {
      // the outputs are read (computed) before the models they need go
      C.dispose(outs.outs.flatMap((o) => [o.actual, o.expected]));
      for (const m of outs.models) m.dispose();
    }
  }
  return { checks, outputs };
}

/** Saves outputs (float32) for the later backends. */
export async function saveOutputs(file: string, outputs: ParityOutcome['outputs']): Promise<void> {
  const map: C.SafetensorsTensorMap = {};
  for (const [k, v] of outputs) map[k] = { dtype: 'F32', shape: v.shape, data: v.data };
  await C.saveSafetensors(file, map);
}

/** Reads outputs saved by saveOutputs, or null when there is no such file. */
export async function readOutputs(file: string): Promise<Map<string, Float32Array> | null> {
  if (!existsSync(file)) return null;
  const f = await C.loadSafetensors(file);
  const m = new Map<string, Float32Array>();
  try {
    for (const n of f.names()) m.set(n, Float32Array.from((await f.readTyped(n)) as Float32Array));
  } finally {
    await f.close();
  }
  return m;
}
