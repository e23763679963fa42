/**
 * The device run's driver: every measurement in its own process with a time cap, inside one budget for the whole
 * run; the report (JSON and Markdown) is rewritten after each stage, so a run stopped from outside still leaves one.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type ChildRun, checkLines, haveNvidiaSmi, nvidiaQuery, resultLine, runChild } from './child.js';
import type { ParityCheck } from './fixture-parity.js';
import { type Mode, type Plan, planFor, torchConfigs } from './plan.js';
import { type Report, type Stage, writeReport } from './report.js';
import type { Task, TaskResult } from './tasks.js';

export interface DriveOptions {
  mode: Mode;
  /** where device-run.json, device-run.md and device-run.log go */
  out: string;
  /** scratch: the model folder, parity outputs, images */
  work: string;
  /** the unpacked app: bench-main.mjs, node_modules, torch_bench.py, fixtures, diffusers */
  app: string;
  /** seconds the whole driver may take */
  budgetS: number;
  python: string;
  /** timed stages to run (unet-step, vae-decode, generate); all when empty. Parity always runs. */
  only: readonly string[];
}

interface TorchInfo {
  ok: boolean;
  reason?: string;
  version?: string;
  cuda?: boolean;
}

const short = (s: string): string => s.replace(/\s+/g, ' ').trim().slice(-300);
const cli = (c: string): string => (c === 'float16' ? 'f16' : 'f32');

export async function drive(o: DriveOptions): Promise<Report> {
  const plan: Plan = planFor(o.mode);
  const t0 = Date.now();
  const deadline = t0 + o.budgetS * 1000;
  mkdirSync(o.out, { recursive: true });
  mkdirSync(o.work, { recursive: true });
  const logFile = path.join(o.out, 'device-run.log');
  const log = (s: string): void => {
    const l = `[device-run +${((Date.now() - t0) / 1000).toFixed(0)}s] ${s}\n`;
    process.stderr.write(l);
    appendFileSync(logFile, l);
  };
  const fixtures = path.join(o.app, 'fixtures');
  const env = { ...process.env, SDXS_FIXTURES: fixtures, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? o.work };
  const wants = (s: string): boolean => o.only.length === 0 || o.only.includes(s);
  const ortPkg = path.join(o.app, 'node_modules/onnxruntime-node/package.json');
  const report: Report = {
    meta: {
      mode: o.mode,
      started: new Date(t0).toISOString(),
      budgetS: o.budgetS,
      node: process.version,
      onnxruntime: existsSync(ortPkg) ? (JSON.parse(readFileSync(ortPkg, 'utf8')) as { version: string }).version : null,
      gpu: nvidiaQuery('name,driver_version,memory.total'),
      vulkanIcd: process.env.VK_DRIVER_FILES ?? process.env.VK_ICD_FILENAMES ?? null,
      plan,
      notes: [
        'each measurement is a fresh process; parity runs first and decides which backends and precisions are timed',
        'make-model (the folder `sdxs generate` reads) is written on the CPU while the parity, unet-step and vae-decode stages run',
      ],
    },
    stages: [],
  };
  const save = (): void => {
    report.meta.elapsedS = (Date.now() - t0) / 1000;
    writeReport(o.out, report);
  };
  const add = (s: Stage): void => {
    report.stages.push(s);
    log(`${s.stage} ${s.backend} ${s.compute}: ${s.status}${s.reason ? ` (${s.reason})` : ''}${s.steadyS !== undefined ? ` steady ${s.steadyS.toFixed(3)} s` : ''}${s.wallS !== undefined ? ` wall ${s.wallS.toFixed(1)} s` : ''}`);
    save();
  };
  /** The cap a stage gets now, or the reason it must be skipped. */
  const slot = (capS: number, minS: number): { capS: number } | { skip: string } => {
    const left = (deadline - Date.now()) / 1000 - plan.reserveS;
    if (left < minS) return { skip: `time budget: ${Math.max(0, left).toFixed(0)} s left, the stage needs at least ${minS} s` };
    return { capS: Math.min(capS, left) };
  };
  const childLog = (tag: string): ((s: string) => void) => {
    let written = 0;
    return (s) => {
      if (written > 20_000) return;
      written += s.length;
      appendFileSync(logFile, s.split('\n').filter(Boolean).map((l) => `  ${tag} | ${l}\n`).join(''));
    };
  };
  const worker = async (task: Task, capS: number, tag: string): Promise<{ run: ChildRun; result: TaskResult | null }> => {
    const run = await runChild({ cmd: process.execPath, args: [path.join(o.app, 'bench-main.mjs'), 'worker', JSON.stringify(task)], env, capS, onStderr: childLog(tag) });
    return { run, result: resultLine<TaskResult>(run.stdout) };
  };
  const measured = (run: ChildRun): Pick<Stage, 'wallS' | 'peakRssMiB' | 'gpuPeakMiB'> => ({
    wallS: run.wallS,
    peakRssMiB: run.peakRssMiB,
    gpuPeakMiB: run.gpuPeakMiB !== null && run.gpuBaseMiB !== null ? run.gpuPeakMiB - run.gpuBaseMiB : null,
  });
  const failed = (run: ChildRun, capS: number): Pick<Stage, 'status' | 'reason'> =>
    run.timedOut ? { status: 'timeout', reason: `over its ${capS.toFixed(0)} s cap` } : { status: 'error', reason: `exit ${String(run.rc)}: ${short(run.stderrTail)}` };

  // the model folder `sdxs generate` runs on: written beside the first stages (CPU and disk only)
  const modelDir = path.join(o.work, plan.generate.realModel ? 'sdxs-real' : 'sdxs-tiny');
  let modelDone: Promise<Stage> | null = null;
  if (wants('generate')) {
    const capS = Math.min(plan.caps.makeModel, o.budgetS);
    const task: Task = { kind: 'make-model', dir: modelDir, real: plan.generate.realModel };
    log(`make-model (${plan.generate.realModel ? 'real configs, random 16-bit weights' : 'tiny'}) → ${modelDir}, in the background`);
    modelDone = worker(task, capS, 'make-model').then(({ run, result }) => {
      const s: Stage = { stage: 'make-model', backend: 'cpu', compute: 'float16 storage', capS, ...measured(run), setupS: result?.setupS, ...(result?.status === 'ok' ? { status: 'ok' } : result ? { status: 'error', reason: result.error } : failed(run, capS)) };
      return s;
    });
  }

  // (a) parity on the fixtures, always: it also finds which backends and precisions start (the rest are not timed)
  const unavailable = new Map<string, string>();
  const cpuOutputs = path.join(o.work, 'parity-ort-cpu-float32.safetensors');
  {
    for (const backend of plan.parityBackends) {
      for (const compute of ['float32', 'float16'] as const) {
        const key = `${backend}:${compute}`;
        const first = backend === 'ort-cpu' && compute === 'float32';
        const sl = slot(plan.caps.parity, 10);
        if ('skip' in sl) {
          add({ stage: 'parity', backend, compute, status: 'skipped', reason: sl.skip });
          continue;
        }
        const task: Task = { kind: 'parity', backend, compute, fixtures, cases: plan.parityCases, ...(first ? { saveTo: cpuOutputs } : { against: cpuOutputs }) };
        const { run, result } = await worker(task, sl.capS, `parity ${key}`);
        const base = { stage: 'parity', backend, compute, capS: sl.capS, ...measured(run) };
        if (!result) {
          // stopped or crashed: keep the checks it finished; the backend started, so it is still timed below
          add({ ...base, ...failed(run, sl.capS), checks: checkLines<ParityCheck>(run.stdout) });
        } else {
          if (result.status === 'unavailable') unavailable.set(key, result.error ?? result.status);
          add({ ...base, status: result.status, reason: result.error, computeUsed: result.computeUsed, checks: result.checks });
        }
      }
    }
  }

  // PyTorch: present, with CUDA on the device
  const torch = await probeTorch(o, plan, env, log);
  report.meta.torch = torch.ok ? torch.version : `not run: ${torch.reason ?? ''}`;
  const configsFile = path.join(o.work, 'torch-configs.json');
  writeFileSync(configsFile, JSON.stringify(torchConfigs(plan)));
  const torchStage = async (stage: string, capS: number, args: string[]): Promise<void> => {
    if (!torch.ok) return add({ stage, backend: 'pytorch', compute: plan.torch.dtype, status: 'skipped', reason: torch.reason });
    const sl = slot(capS, 10);
    if ('skip' in sl) return add({ stage, backend: 'pytorch', compute: plan.torch.dtype, status: 'skipped', reason: sl.skip });
    const run = await runChild({
      cmd: o.python,
      args: [path.join(o.app, 'torch_bench.py'), '--configs', configsFile, '--case', stage, '--device', plan.torch.device, '--dtype', plan.torch.dtype, ...args],
      env: { ...env, PYTHONPATH: [path.join(o.app, 'diffusers'), process.env.PYTHONPATH].filter(Boolean).join(':'), PYTHONUNBUFFERED: '1' },
      capS: sl.capS,
      onStderr: childLog(`pytorch ${stage}`),
    });
    const r = resultLine<Record<string, unknown>>(run.stdout);
    const base = { stage, backend: 'pytorch', compute: plan.torch.dtype, capS: sl.capS, ...measured(run) };
    if (!r) return add({ ...base, ...failed(run, sl.capS) });
    add({
      ...base,
      status: r.finite === false ? 'error' : 'ok',
      reason: r.finite === false ? 'non-finite output' : undefined,
      setupS: r.setup_s as number,
      firstS: r.first_s as number,
      steadyS: (r.steady_s as number | null) ?? undefined,
      timesS: r.times_s as number[],
      params: r.params as number,
      peakRssMiB: r.peak_rss_mib as number,
      torchPeakAllocMiB: r.peak_alloc_mib as number | null,
      detail: r,
    });
  };

  /** Our side of a timed stage, one backend and precision in a worker. */
  const ours = async (stage: string, capS: number, minS: number, task: (backend: string, compute: 'float16' | 'float32') => Task): Promise<void> => {
    for (const backend of plan.timingBackends) {
      for (const compute of plan.computes) {
        const why = unavailable.get(`${backend}:${compute}`);
        if (why) {
          add({ stage, backend, compute, status: 'unavailable', reason: why });
          continue;
        }
        const sl = slot(capS, minS);
        if ('skip' in sl) {
          add({ stage, backend, compute, status: 'skipped', reason: sl.skip });
          continue;
        }
        const { run, result } = await worker(task(backend, compute), sl.capS, `${stage} ${backend}:${compute}`);
        const base = { stage, backend, compute, capS: sl.capS, ...measured(run) };
        if (!result) add({ ...base, ...failed(run, sl.capS) });
        else add({ ...base, status: result.status, reason: result.error, computeUsed: result.computeUsed, setupS: result.setupS, firstS: result.firstS, steadyS: result.steadyS, timesS: result.timesS, params: result.params });
      }
    }
  };

  // (b) timings
  const u = plan.unet;
  if (wants('unet-step')) {
    await torchStage('unet-step', plan.caps.torchUnet, ['--latent', `${u.latent}`, '--batch', `${u.batch}`, '--tokens', `${u.tokens}`, '--runs', `${u.runs}`]);
    await ours('unet-step', plan.caps.unet, 20, (backend, compute) => ({ kind: 'unet-step', backend, compute, quick: u.quick, latent: u.latent, batch: u.batch, tokens: u.tokens, runs: u.runs }));
  }
  const v = plan.vae;
  if (wants('vae-decode')) {
    await torchStage('vae-decode', plan.caps.torchVae, ['--latent', `${v.latent}`, '--runs', `${v.runs}`]);
    await ours('vae-decode', plan.caps.vae, 15, (backend, compute) => ({ kind: 'vae-decode', backend, compute, quick: v.quick, latent: v.latent, runs: v.runs }));
  }
  if (wants('generate') && modelDone) {
    const g = plan.generate;
    const lat = g.width / 16;
    await torchStage('generate', plan.caps.torchGenerate, ['--latent', `${lat}`, '--tokens', `${u.tokens - 1}`, '--steps', `${g.steps}`, '--cfg', `${g.cfg}`, '--runs', '1']);
    const made = await modelDone;
    add(made);
    const bin = path.join(o.app, 'node_modules/@sdxs/cli/bin/sdxs.js');
    for (const backend of plan.timingBackends) {
      for (const compute of plan.computes) {
        const why = made.status !== 'ok' ? `no model folder (make-model ${made.status})` : unavailable.get(`${backend}:${compute}`);
        if (why) {
          add({ stage: 'generate', backend, compute, status: made.status !== 'ok' ? 'skipped' : 'unavailable', reason: why });
          continue;
        }
        const sl = slot(plan.caps.generate, 30);
        if ('skip' in sl) {
          add({ stage: 'generate', backend, compute, status: 'skipped', reason: sl.skip });
          continue;
        }
        const png = path.join(o.work, `generate-${backend}-${compute}.png`);
        const args = [bin, 'generate', 'a red fox in fresh snow, golden hour', '--model', modelDir, '-W', `${g.width}`, '-H', `${g.height}`, '--steps', `${g.steps}`, '--cfg', `${g.cfg}`, '--seed', '1', '--backend', backend, '--compute', cli(compute), '-o', png];
        const run = await runChild({ cmd: process.execPath, args, env, capS: sl.capS, onStderr: childLog(`generate ${backend}:${compute}`) });
        const base = { stage: 'generate', backend, compute, capS: sl.capS, ...measured(run), detail: { command: `sdxs ${args.slice(1).join(' ')}` } };
        add(run.rc === 0 && existsSync(png) ? { ...base, status: 'ok' } : { ...base, ...failed(run, sl.capS) });
      }
    }
  } else if (modelDone) add(await modelDone);
  if (!haveNvidiaSmi()) report.meta.gpuMemory = 'not measured: nvidia-smi is not here';
  save();
  log(`done: ${report.stages.filter((s) => s.status === 'ok').length} of ${report.stages.length} stages ok; ${path.join(o.out, 'device-run.md')}`);
  return report;
}

async function probeTorch(o: DriveOptions, plan: Plan, env: NodeJS.ProcessEnv, log: (s: string) => void): Promise<TorchInfo> {
  const code = 'import json, torch; print("RESULT " + json.dumps({"version": torch.__version__, "cuda": torch.cuda.is_available()}))';
  const run = await runChild({ cmd: o.python, args: ['-c', code], env, capS: 90 });
  const r = resultLine<{ version: string; cuda: boolean }>(run.stdout);
  if (!r) {
    const last = run.stderrTail.split('\n').filter((l) => l.trim()).pop() ?? '';
    const why = `${o.python} has no usable torch: ${short(last) || `exit ${String(run.rc)}`}`;
    log(`pytorch: ${why}`);
    return { ok: false, reason: why };
  }
  if (plan.torch.device === 'cuda' && !r.cuda) return { ok: false, reason: `torch ${r.version} sees no CUDA device`, version: r.version };
  log(`pytorch ${r.version} (cuda ${String(r.cuda)})`);
  return { ok: true, version: r.version, cuda: r.cuda };
}
