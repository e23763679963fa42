import * as C from '@sdxs/core';
import { DatasetReader } from '@sdxs/data';
import { UNet2DConditionModel } from '@sdxs/unet';
import { existsSync, readFileSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { latestCheckpoint, loadTrainingCheckpoint, saveDiffusersModel, saveTrainingCheckpoint } from './checkpoint.js';
import { validateTrainConfig, type TrainConfig } from './config.js';
import { readerSource } from './data-source.js';
import type { Uncond } from './flow-matching.js';
import { TrainLogger, type LogRecord } from './logger.js';
import { sampleImagesCallback } from './samples.js';
import { Trainer } from './trainer.js';

export const TRAIN_USAGE = `sdxs train --config train.json [--steps N] [--output DIR] [--backend NAME] [--no-resume]
  Flow-matching fine-tuning of the UNet on a dataset made by 'sdxs data convert'.
  Resumes from the newest <output>/checkpoints/step-N unless --no-resume. Ctrl-C saves a checkpoint and stops.`;

export interface RunTrainResult {
  steps: number;
  last: LogRecord | null;
  output: string;
  /** The final model folder (diffusers layout). */
  final: string | null;
}

const isLocal = (s: string): boolean => s.startsWith('.') || s.startsWith('/') || existsSync(s);

function resolvePaths(cfg: TrainConfig, base: string): TrainConfig {
  const r = (p: string | undefined): string | undefined => (p === undefined ? undefined : isLocal(p) || !/^[\w.-]+\/[\w.-]+$/.test(p) ? path.resolve(base, p) : p);
  return { ...cfg, model: r(cfg.model)!, unet: r(cfg.unet), dataset: path.resolve(base, cfg.dataset), output: path.resolve(base, cfg.output) };
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
  const s = (JSON.parse(readFileSync(file, 'utf8')) as { shift?: number }).shift;
  return typeof s === 'number' ? s : undefined;
}

/** `bun run packages/train/scripts/train.ts --config train.json` and `sdxs train`. */
export async function runTrain(argv: readonly string[]): Promise<RunTrainResult | null> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      config: { type: 'string', short: 'c' },
      steps: { type: 'string' },
      output: { type: 'string' },
      backend: { type: 'string' },
      'no-resume': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${TRAIN_USAGE}\n`);
    return null;
  }
  if (!values.config) throw new C.InputError(`--config is required\n${TRAIN_USAGE}`);
  const raw = JSON.parse(readFileSync(values.config, 'utf8')) as Partial<TrainConfig>;
  if (values.steps) raw.steps = Number(values.steps);
  if (values.output) raw.output = path.resolve(values.output);
  if (values.backend) raw.backend = values.backend;
  const cfg = resolvePaths(validateTrainConfig(raw, values.config), path.dirname(path.resolve(values.config)));
  // --backend, then the config's "backend", then SDXS_BACKEND, as every sdxs command does
  await C.setBackend(cfg.backend ?? process.env.SDXS_BACKEND ?? 'auto');

  const modelDir = await C.resolveModelSource(cfg.model);
  const unetDir = cfg.unet ?? path.join(modelDir, 'unet');
  const modelConfig = await C.loadConfig(unetDir);
  const ckptRoot = path.join(cfg.output, 'checkpoints');
  const resumeFrom = values['no-resume'] ? null : await latestCheckpoint(ckptRoot);
  const model = await UNet2DConditionModel.fromPretrained(resumeFrom ? path.join(resumeFrom, 'unet') : unetDir);

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
    await loadTrainingCheckpoint(resumeFrom, trainer, source);
    process.stderr.write(`resumed from ${resumeFrom} at step ${trainer.step}\n`);
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

  const save = async (): Promise<void> => {
    const dir = path.join(ckptRoot, `step-${String(trainer.step).padStart(6, '0')}`);
    await saveTrainingCheckpoint(dir, trainer, { modelConfig, source, dtype: cfg.saveDtype, extra: { config: cfg } });
    const keep = cfg.keepCheckpoints ?? 3;
    const all = (await readdir(ckptRoot)).filter((d) => /^step-\d+$/.test(d)).sort();
    for (const d of all.slice(0, Math.max(0, all.length - keep))) await rm(path.join(ckptRoot, d), { recursive: true, force: true });
  };

  let stop = false;
  const onSignal = (): void => {
    stop = true;
    process.stderr.write('\nstopping: saving a checkpoint after this step\n');
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let last: LogRecord | null = null;
  try {
    while (trainer.step < cfg.steps && !stop) {
      const s = await trainer.trainStep(source);
      last = logger.log(s, { epoch: reader.getState().epoch });
      process.stderr.write(`\rstep ${s.step}/${cfg.steps} loss ${s.loss.toFixed(4)} lr ${s.lr.toExponential(2)} ${(1000 / s.ms).toFixed(2)} it/s`);
      if (cfg.checkpointEvery && s.step % cfg.checkpointEvery === 0) await save();
      if (sample && cfg.sampleEvery && s.step % cfg.sampleEvery === 0) await sample(s.step);
    }
    logger.plot();
    await save();
    let final: string | null = null;
    if (trainer.step >= cfg.steps) {
      final = path.join(cfg.output, 'final', 'unet');
      await saveDiffusersModel(final, model, modelConfig, { dtype: cfg.saveDtype });
      if (trainer.ema) await saveDiffusersModel(path.join(cfg.output, 'final', 'unet_ema'), model, modelConfig, { dtype: cfg.saveDtype, weights: trainer.ema.shadow });
    }
    process.stderr.write('\n');
    return { steps: trainer.step, last, output: cfg.output, final };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await reader.close();
  }
}
