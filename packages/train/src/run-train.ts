import * as C from '@sdxs/core';
import { DatasetReader } from '@sdxs/data';
import { UNet2DConditionModel } from '@sdxs/unet';
import { existsSync, readFileSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { latestCheckpoint, loadTrainingCheckpoint, saveDiffusersModel, saveTrainingCheckpoint } from './checkpoint.js';
import { readerSource } from './data-source.js';
import type { Uncond } from './flow-matching.js';
import { addTrainableLora, saveLoraFiles } from './lora-adapters.js';
import { TrainLogger, type LogRecord } from './logger.js';
import { sampleImagesCallback } from './samples.js';
import { checkRunPaths } from './run-paths.js';
import { parseTrainArgs, TRAIN_USAGE } from './train-args.js';
import { Trainer } from './trainer.js';

export { TRAIN_USAGE };

export interface RunTrainResult {
  steps: number;
  last: LogRecord | null;
  output: string;
  /** The final model folder (diffusers layout), or for LoRA the folder holding pytorch_lora_weights.safetensors. */
  final: string | null;
  /** Files written to `final` (LoRA: the adapter files, EMA ones under final/ema/). */
  files: string[];
  /** The tensor backend that ran. */
  backend: string;
  /** LoRA rank, or null for full fine-tuning. */
  loraRank: number | null;
  /** Stopped by Ctrl-C / SIGTERM / the signal (a checkpoint was saved). */
  interrupted: boolean;
}

/** Where runTrain writes and what stops it (the CLI passes its own; the Bun script uses the process's). */
export interface RunTrainIo {
  stdout?: { write(s: string): unknown };
  /** a terminal (`isTTY`) gets one step line rewritten in place; anything else (a log file, a pipe) a line per step */
  stderr?: { write(s: string): unknown; isTTY?: boolean };
  env?: Record<string, string | undefined>;
  /** what --config and --output are relative to (default: the process's working directory) */
  cwd?: string;
  /** Stops after the current step, with a checkpoint. Without it, SIGINT / SIGTERM of the process do. */
  signal?: AbortSignal;
}

async function readUncond(dataset: string): Promise<Uncond | null> {
  const file = path.join(dataset, 'uncond.safetensors');
  if (!existsSync(file)) return null;
  const f = await C.loadSafetensors(file);
  try {
    const cond = await C.readTensor(f, 'cond', 'float32');
    const maskBytes = (await f.readTyped('mask')) as Uint8Array;
    return { cond: C.reshape(cond, [1, ...cond.shape]), mask: C.fromData(Float32Array.from(maskBytes), [1, maskBytes.length], 'float32') };
  } finally {
    await f.close();
  }
}

function schedulerShift(modelDir: string): number | undefined {
  const file = path.join(modelDir, 'scheduler', 'scheduler_config.json');
  if (!existsSync(file)) return undefined;
  const s = C.parseConfig(readFileSync(file, 'utf8'), file).shift;
  if (s === undefined || s === null) return undefined;
  return C.checkConfigPositive(file, 'shift', typeof s === 'number' ? s : Number.NaN, 1000);
}

/** `bun run packages/train/scripts/train.ts --config train.json` and `sdxs train` (null for --help). */
export async function runTrain(argv: readonly string[], io: RunTrainIo = {}): Promise<RunTrainResult | null> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const tty = stderr.isTTY === true;
  const args = parseTrainArgs(argv, io.cwd);
  if (!args) {
    stdout.write(`${TRAIN_USAGE}\n`);
    return null;
  }
  const { cfg, json } = args;
  checkRunPaths(cfg, args.configFile);
  const lora = cfg.lora ?? null;
  // --backend, then the config's "backend", then SDXS_BACKEND, as every sdxs command does
  const wanted = cfg.backend ?? C.envBackend(io.env) ?? 'auto';
  if (wanted !== 'auto' && !C.listBackends().includes(wanted)) {
    const msg = `unknown backend '${wanted}' (from ${args.backendFrom}); choose one of: auto, ${C.listBackends().join(', ')}`;
    throw args.backendInConfig ? new C.ConfigError(msg) : new C.ArgumentError(msg);
  }
  const backend = (await C.setBackend(wanted)).name;
  if (!json) stderr.write(`sdxs train: backend ${backend}${wanted === 'auto' ? ' (auto)' : ''}${lora ? `, LoRA rank ${lora.rank}` : ''}\n`);

  const modelDir = await C.resolveModelSource(cfg.model);
  const unetDir = cfg.unet ?? path.join(modelDir, 'unet');
  const modelConfig = await C.loadConfig(unetDir);
  const ckptRoot = path.join(cfg.output, 'checkpoints');
  const resumeFrom = args.noResume ? null : await latestCheckpoint(ckptRoot);
  // LoRA: the base keeps the checkpoint's precision (16-bit stays 16-bit) and stays frozen; only adapters train
  const model = lora
    ? await UNet2DConditionModel.fromPretrained(unetDir, { dtype: lora.baseDtype ?? 'source' })
    : await UNet2DConditionModel.fromPretrained(resumeFrom ? path.join(resumeFrom, 'unet') : unetDir);
  const params = lora ? await addTrainableLora(model, lora, cfg.seed ?? 0) : undefined;

  const reader = await DatasetReader.open(cfg.dataset, { batchSize: cfg.batchSize ?? 1, seed: cfg.seed ?? 0 });
  const hasLatents = reader.index.items[0]!.fields.includes('latent');
  const hasCond = reader.index.items.some((it) => it.fields.some((f) => f.startsWith('cond.')));
  const vaeDir = path.join(modelDir, 'vae');
  const needVae = !hasLatents || ((cfg.sampleEvery ?? 0) > 0 && existsSync(vaeDir));
  const vae = needVae ? await (await import('@sdxs/vae')).AsymmetricAutoencoderKL.fromPretrained(vaeDir) : null;
  let uncond = await readUncond(cfg.dataset);
  let encodeCaptions: ((c: string[]) => { states: C.Tensor; mask: C.Tensor }) | undefined;
  if (!hasCond) {
    const { SdxsTextEncoder } = await import('@sdxs/text-qwen');
    const te = await SdxsTextEncoder.fromPretrained(modelDir);
    encodeCaptions = (c) => te.encode(c);
    if (!uncond) {
      const e = te.encodeEmpty(1);
      uncond = { cond: e.states, mask: e.mask };
    }
  }
  const source = readerSource(reader, {
    encodeImages: vae ? (x) => C.tidy(() => {
      const post = vae.encode(x);
      try {
        return reader.index.latentSpace === 'raw' ? C.add(post.mean, 0) : vae.normalizeLatents(post.mean);
      } finally {
        post.dispose();
      }
    }) : undefined,
    encodeCaptions,
  });
  const shift = cfg.timesteps?.shift ?? schedulerShift(modelDir) ?? 1;
  const trainer = await Trainer.create({
    model,
    params,
    optimizer: cfg.optimizer,
    optimizerOptions: cfg.optimizerOptions,
    schedule: { totalSteps: cfg.steps, ...cfg.lr },
    gradAccumulation: cfg.gradAccumulation,
    clipNorm: cfg.clipNorm,
    gradientCheckpointing: cfg.gradientCheckpointing,
    ema: cfg.ema,
    flow: { timesteps: { ...cfg.timesteps, shift }, condDropout: cfg.condDropout },
    uncond,
    seed: cfg.seed,
  });
  if (resumeFrom) {
    await loadTrainingCheckpoint(resumeFrom, trainer, source, { lora: lora !== null });
    stderr.write(`resumed from ${resumeFrom} at step ${trainer.step}\n`);
  }
  const logger = new TrainLogger(cfg.output, cfg.plotEvery ?? 10, trainer.step);

  let sample: ((step: number) => Promise<string[]>) | null = null;
  if ((cfg.sampleEvery ?? 0) > 0 && vae && hasCond) {
    const probe = await DatasetReader.open(cfg.dataset, { batchSize: Math.min(cfg.sampleItems ?? 2, reader.size), seed: 12345 });
    const b = await probe.next();
    const cond = C.keep(b.cond!);
    const mask = b.mask ? C.keep(b.mask) : null;
    const lat = b.latents?.shape;
    await probe.close();
    const cb = sampleImagesCallback({
      vae,
      scheduler: existsSync(path.join(modelDir, 'scheduler')) ? path.join(modelDir, 'scheduler') : { shift },
      cond,
      mask,
      uncond: uncond?.cond ?? null,
      uncondMask: uncond?.mask ?? null,
      latentChannels: model.config.inChannels,
      latentSize: lat ? [lat[2]!, lat[3]!] : [b.bucket[1] / 16, b.bucket[0] / 16],
      steps: cfg.sampleSteps,
      guidance: cfg.sampleGuidance,
      seed: cfg.seed,
      normalized: reader.index.latentSpace !== 'raw',
      outDir: path.join(cfg.output, 'samples'),
    });
    sample = (step) => cb(step, model);
  }

  let lastSaved: string | null = resumeFrom;
  const save = async (): Promise<void> => {
    const dir = path.join(ckptRoot, `step-${String(trainer.step).padStart(6, '0')}`);
    await saveTrainingCheckpoint(dir, trainer, { modelConfig, source, dtype: cfg.saveDtype, extra: { config: cfg }, lora: lora !== null });
    lastSaved = dir;
    const keep = cfg.keepCheckpoints ?? 3;
    const all = (await readdir(ckptRoot)).filter((d) => /^step-\d+$/.test(d)).sort();
    for (const d of all.slice(0, Math.max(0, all.length - keep))) await rm(path.join(ckptRoot, d), { recursive: true, force: true });
  };

  let stop = false;
  const onSignal = (): void => {
    stop = true;
    stderr.write(`${tty ? '\n' : ''}stopping: saving a checkpoint after this step\n`);
  };
  if (io.signal) {
    if (io.signal.aborted) stop = true;
    else io.signal.addEventListener('abort', onSignal, { once: true });
  } else {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  let last: LogRecord | null = null;
  try {
    while (trainer.step < cfg.steps && !stop) {
      let s: Awaited<ReturnType<Trainer['trainStep']>>;
      try {
        s = await trainer.trainStep(source);
      } catch (e) {
        if (!(e instanceof C.NonFiniteError)) throw e;
        // nothing is saved after a non-finite step: the last good checkpoint stays the newest
        const kept = lastSaved ? `the last good checkpoint, ${lastSaved}, is kept` : 'no checkpoint was written';
        if (!json) stderr.write('\n');
        throw new C.NonFiniteError(`${e.message}; the run stopped and ${kept}. Lower "lr.baseLr", keep "clipNorm" on, or check the dataset`);
      }
      last = logger.log(s, { epoch: reader.getState().epoch });
      const line = `step ${s.step}/${cfg.steps} loss ${s.loss.toFixed(4)} lr ${s.lr.toExponential(2)} ${(1000 / s.ms).toFixed(2)} it/s`;
      stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
      if (cfg.checkpointEvery && s.step % cfg.checkpointEvery === 0) await save();
      if (sample && cfg.sampleEvery && s.step % cfg.sampleEvery === 0) await sample(s.step);
    }
    logger.plot();
    await save();
    let final: string | null = null;
    const files: string[] = [];
    if (trainer.step >= cfg.steps && lora) {
      final = path.join(cfg.output, 'final');
      files.push(...(await saveLoraFiles(final, model, lora.format)));
      if (trainer.ema) files.push(...(await saveLoraFiles(path.join(final, 'ema'), model, lora.format, trainer.ema.shadow)));
    } else if (trainer.step >= cfg.steps) {
      final = path.join(cfg.output, 'final', 'unet');
      await saveDiffusersModel(final, model, modelConfig, { dtype: cfg.saveDtype });
      files.push(path.join(final, 'diffusion_pytorch_model.safetensors'));
      if (trainer.ema) await saveDiffusersModel(path.join(cfg.output, 'final', 'unet_ema'), model, modelConfig, { dtype: cfg.saveDtype, weights: trainer.ema.shadow });
    }
    if (tty) stderr.write('\n');
    const result: RunTrainResult = { steps: trainer.step, last, output: cfg.output, final, files, backend, loraRank: lora?.rank ?? null, interrupted: stop };
    if (json) {
      stdout.write(`${JSON.stringify({ steps: result.steps, loss: last?.loss ?? null, output: result.output, final, files, backend, loraRank: result.loraRank, interrupted: stop })}\n`);
    } else {
      const what = lora ? `LoRA rank ${lora.rank}` : 'UNet';
      const lossText = last ? `, last loss ${last.loss.toFixed(4)}` : '';
      stderr.write(`sdxs train: ${stop ? 'stopped' : 'trained'} ${what} to step ${trainer.step}/${cfg.steps} on ${backend}${lossText}; ${final ? `final: ${final}` : `checkpoint in ${ckptRoot}`}\n`);
    }
    return result;
  } finally {
    io.signal?.removeEventListener('abort', onSignal);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    model.dispose();
    vae?.dispose();
    await reader.close();
  }
}
