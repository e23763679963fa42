import * as C from '@sdxs/core';
import { clipGlobalNorm, globalNorm } from './clip.js';
import { Ema } from './ema.js';
import { drawFlow, flowMatchingLoss, type FlowMatchingOptions, type TrainableDenoiser, type TrainBatch, type Uncond } from './flow-matching.js';
import { AdamW } from './optim/adamw.js';
import { AdamW8bit, type AdamW8bitOptions } from './optim/adamw8bit.js';
import type { NamedParameters, Optimizer } from './optim/optimizer.js';
import { LrSchedule, type LrScheduleConfig } from './schedule.js';

/** JSON-safe position of a data source. */
export type SourceState = Record<string, number | string | boolean | null>;

/** Where micro-batches come from (the @sdxs/data reader, adapted, or anything else). */
export interface BatchSource {
  next(): Promise<TrainBatch & { dispose(): void }>;
  getState(): SourceState;
  setState(s: SourceState): void;
}

export interface TrainerOptions {
  model: TrainableDenoiser;
  /** 'adamw8bit' (default, as the seed trained) or 'adamw'. */
  optimizer?: 'adamw' | 'adamw8bit';
  optimizerOptions?: AdamW8bitOptions;
  schedule: LrScheduleConfig;
  /** Micro-batches per optimizer step (default 1); their gradients are averaged. */
  gradAccumulation?: number;
  /** Global-norm clipping threshold (default 1.0; null turns it off). */
  clipNorm?: number | null;
  /** Run UNet blocks under C.checkpoint (default false). */
  gradientCheckpointing?: boolean;
  /** EMA decay of the weights, or null for none (default). */
  ema?: number | null;
  flow?: FlowMatchingOptions;
  /** Empty-prompt conditioning for the dropout (required when condDropout > 0). */
  uncond?: Uncond | null;
  /** Seed of the trainer's generator (timesteps, noise, dropout). */
  seed?: number;
  /** Which parameters train (default: every parameter whose `trainable` flag is set). */
  trainable?: (name: string) => boolean;
  /** The parameters to train instead of the model's own, e.g. LoRA adapters from `C.nn.addLora` (the base stays frozen). */
  params?: NamedParameters;
}

export interface StepStats {
  /** Optimizer steps done after this one. */
  step: number;
  loss: number;
  lr: number;
  /** Gradient norm before clipping. */
  gradNorm: number;
  samples: number;
  ms: number;
}

/** Serialisable trainer state besides the model weights and the optimizer tensors. */
export interface TrainerState {
  step: number;
  rng: (number | null)[];
  source: SourceState | null;
}

/**
 * Flow-matching training of a UNet: draws, forward + backward (valueAndGrad over the trainable
 * parameters), host-side gradient accumulation, clipping, the optimizer step with the scheduled LR and
 * the optional EMA. Everything random comes from one seeded host generator whose state is saved.
 */
export class Trainer {
  readonly model: TrainableDenoiser;
  readonly params: NamedParameters;
  readonly optimizer: Optimizer;
  readonly schedule: LrSchedule;
  readonly options: TrainerOptions;
  readonly rng: C.RandomGenerator;
  ema: Ema | null = null;
  /** The model's LoRA adapters use dropout: each micro-batch draws its mask seed from `rng` (after the flow draws). */
  readonly loraDropout: boolean;

  private constructor(opts: TrainerOptions, params: NamedParameters, optimizer: Optimizer) {
    this.options = opts;
    this.model = opts.model;
    this.params = params;
    this.optimizer = optimizer;
    this.schedule = new LrSchedule(opts.schedule);
    this.rng = new C.RandomGenerator(opts.seed ?? 0);
    this.loraDropout = C.nn.hasLoraDropout(opts.model);
    if (opts.gradientCheckpointing !== undefined) this.model.gradientCheckpointing = opts.gradientCheckpointing;
  }

  static async create(opts: TrainerOptions): Promise<Trainer> {
    const accum = opts.gradAccumulation ?? 1;
    if (!(Number.isSafeInteger(accum) && accum >= 1)) throw new C.InputError(`gradAccumulation must be an integer ≥ 1, got ${C.previewValue(accum)}`);
    if (opts.clipNorm != null && !(typeof opts.clipNorm === 'number' && Number.isFinite(opts.clipNorm) && opts.clipNorm > 0)) {
      throw new C.InputError(`clipNorm must be a number > 0 or null, got ${C.previewValue(opts.clipNorm)}`);
    }
    if (opts.ema != null && !(typeof opts.ema === 'number' && opts.ema > 0 && opts.ema < 1)) throw new C.InputError(`ema must be a decay in (0, 1) or null, got ${C.previewValue(opts.ema)}`);
    if (opts.optimizer !== undefined && opts.optimizer !== 'adamw' && opts.optimizer !== 'adamw8bit') throw new C.InputError(`optimizer must be 'adamw' or 'adamw8bit', got ${C.previewValue(opts.optimizer)}`);
    const pick = opts.trainable ?? (() => true);
    const params = opts.params ?? opts.model.namedParameters().filter(([n, p]) => p.trainable && pick(n));
    if (params.length === 0) throw new C.InputError('no trainable parameters');
    // Weights train in float32: 16-bit storage is widened once (no backend here computes in 16 bit).
    for (const [, p] of params) {
      if (p.value.dtype !== 'float32') p.set(C.cast(p.value, 'float32'));
      // graph backends: trained values are graph inputs from the first step (one compile, reused)
      p.markChanging();
    }
    const optimizer = (opts.optimizer ?? 'adamw8bit') === 'adamw' ? new AdamW(params, opts.optimizerOptions) : new AdamW8bit(params, opts.optimizerOptions);
    const t = new Trainer(opts, params, optimizer);
    if (opts.ema) t.ema = await Ema.create(params, opts.ema);
    return t;
  }

  /** Optimizer steps done. */
  get step(): number {
    return this.optimizer.stepCount;
  }

  /** One optimizer step over `gradAccumulation` micro-batches from `source`. */
  async trainStep(source: BatchSource): Promise<StepStats> {
    const t0 = performance.now();
    const accum = this.options.gradAccumulation ?? 1;
    const tensors = this.params.map(([, p]) => p.value);
    let grads: Float32Array[] | null = null;
    let lossSum = 0;
    let samples = 0;
    for (let k = 0; k < accum; k++) {
      const batch = await source.next();
      try {
        const draws = drawFlow(this.rng, batch.latents.shape, this.options.flow ?? {});
        // adapters in training mode for this forward (and its recompute under checkpointing) only
        if (this.loraDropout) C.nn.setLoraTraining(this.model, this.rng.nextU32());
        try {
          const { value, grads: gs } = C.valueAndGrad(() => flowMatchingLoss(this.model, batch, draws, this.options.uncond ?? null), tensors);
          // graph backends: the loss and every gradient come out of one run (reading them one by one would
          // compile a graph per read)
          await C.realize([value, ...gs]);
          lossSum += ((await value.data()) as Float32Array)[0]!;
          value.dispose();
          for (let i = 0; i < gs.length; i++) {
            const g = (await gs[i]!.data()) as Float32Array;
            gs[i]!.dispose();
            if (!grads) grads = new Array<Float32Array>(gs.length);
            if (k === 0) grads[i] = g;
            else {
              const acc = grads[i]!;
              for (let j = 0; j < acc.length; j++) acc[j] = acc[j]! + g[j]!;
            }
          }
        } finally {
          if (this.loraDropout) C.nn.setLoraTraining(this.model, null);
          draws.noise.dispose();
        }
        samples += batch.latents.shape[0]!;
      } finally {
        batch.dispose();
      }
    }
    const g = grads!;
    const stepNo = this.step + 1;
    const loss = lossSum / accum;
    // a non-finite loss or gradient would turn every weight to NaN: stop before the update
    if (!Number.isFinite(loss)) throw new C.NonFiniteError(`step ${stepNo}: the loss is ${loss}`);
    if (accum > 1) for (const a of g) for (let j = 0; j < a.length; j++) a[j] = a[j]! / accum;
    const clip = this.options.clipNorm === undefined ? 1.0 : this.options.clipNorm;
    const norm = clip === null ? globalNorm(g) : clipGlobalNorm(g, clip);
    if (!Number.isFinite(norm)) throw new C.NonFiniteError(`step ${stepNo}: the gradients are not finite (global norm ${norm}, loss ${loss})`);
    const gradNorm = clip === null ? Number.NaN : norm;
    const lr = this.schedule.lr(this.step);
    await this.optimizer.step(g, lr);
    if (this.ema) await this.ema.update();
    return { step: this.step, loss, lr, gradNorm, samples, ms: performance.now() - t0 };
  }

  state(source: BatchSource | null): TrainerState {
    return { step: this.step, rng: this.rng.getState().map((x) => (Number.isNaN(x) ? null : x)), source: source?.getState() ?? null };
  }

  restore(s: TrainerState, source: BatchSource | null): void {
    this.rng.setState(s.rng.map((x) => (x === null ? Number.NaN : x)));
    if (source && s.source) source.setState(s.source);
    if (this.optimizer.stepCount !== s.step) throw new C.CheckpointError(`optimizer state is at step ${this.optimizer.stepCount}, trainer state at ${s.step}`);
  }
}
