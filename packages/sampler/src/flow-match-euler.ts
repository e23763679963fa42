/** diffusers FlowMatchEulerDiscreteScheduler: identical schedules (float64 then float32, as PyTorch/NumPy do) and steps. */
import * as C from '@sdxs/core';
import { calculateShift, parseFlowMatchConfig, type FlowMatchConfig } from './config.js';
import { betaSigmas, exponentialSigmas, karrasSigmas, linspace, shiftSigma, stretchToTerminal, timeShift } from './sigmas.js';

export interface SetTimestepsOptions {
  /** required when `use_dynamic_shifting` is on (see `calculateShift`) */
  mu?: number;
  /** custom sigmas (one per step, before the terminal one); the shift is applied to them */
  sigmas?: readonly number[];
  /** custom timesteps (one per step) */
  timesteps?: readonly number[];
}

export interface StepOptions {
  /** noise source for `stochastic_sampling` */
  generator?: C.RandomGenerator;
}

export interface FromPretrainedSchedulerOptions {
  subfolder?: string;
  fileName?: string;
}

/** What the denoising loop needs from a flow-matching scheduler. */
export interface FlowScheduler {
  readonly config: FlowMatchConfig;
  /** model evaluations per step (1 for Euler, 2 for Heun) */
  readonly order: number;
  /** timestep (sigma·1000) for each model evaluation */
  readonly timesteps: Float32Array;
  readonly sigmas: Float32Array;
  readonly numInferenceSteps: number;
  setTimesteps(n: number, opts?: SetTimestepsOptions): void;
  setBeginIndex(index: number): void;
  step(modelOutput: C.Tensor, timestep: number, sample: C.Tensor, opts?: StepOptions): C.Tensor;
  scaleNoise(sample: C.Tensor, timestep: number, noise: C.Tensor): C.Tensor;
}

const f32 = Math.fround;

export class FlowMatchEulerDiscreteScheduler implements FlowScheduler {
  readonly order: number = 1;
  readonly config: FlowMatchConfig;
  timesteps: Float32Array;
  sigmas: Float32Array;
  numInferenceSteps = 0;
  /** training-schedule end points (float32 values, as diffusers stores them) */
  readonly sigmaMin: number;
  readonly sigmaMax: number;
  protected stepIndex: number | null = null;
  protected beginIndex: number | null = null;
  private shiftValue: number;

  constructor(config: Partial<FlowMatchConfig> = {}) {
    this.config = parseFlowMatchConfig(config, 'scheduler config', this.classNames());
    const n = this.config.numTrainTimesteps;
    const shift = this.config.shift;
    // timesteps = linspace(1, N, N)[::-1] in float32; sigmas = t / N; static shift in float32
    const sig = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const s = f32((n - i) / n);
      sig[i] = this.config.useDynamicShifting ? s : shiftSigma(s, shift, f32);
    }
    this.sigmas = sig;
    this.timesteps = sig.map((s) => f32(s * n));
    this.sigmaMin = sig[n - 1]!;
    this.sigmaMax = sig[0]!;
    this.shiftValue = shift;
  }

  protected classNames(): string[] {
    return ['FlowMatchEulerDiscreteScheduler'];
  }

  /** From a parsed `scheduler_config.json` (snake_case) or a camelCase partial config. */
  static fromConfig<T extends FlowMatchEulerDiscreteScheduler>(this: new (c: Partial<FlowMatchConfig>) => T, config: C.ConfigObject | Partial<FlowMatchConfig>): T {
    return new this(parseFlowMatchConfig(config, 'scheduler config', ['FlowMatchEulerDiscreteScheduler', 'FlowMatchHeunDiscreteScheduler']));
  }

  /** Reads `<dir>/<subfolder>/scheduler_config.json` (subfolder e.g. 'scheduler'). */
  static async fromPretrained<T extends FlowMatchEulerDiscreteScheduler>(
    this: new (c: Partial<FlowMatchConfig>) => T,
    dir: string,
    opts: FromPretrainedSchedulerOptions = {},
  ): Promise<T> {
    const file = opts.fileName ?? 'scheduler_config.json';
    const cfg = await C.loadConfig(dir, opts.subfolder, file);
    return new this(parseFlowMatchConfig(cfg, `${dir}${opts.subfolder ? `/${opts.subfolder}` : ''}/${file}`, ['FlowMatchEulerDiscreteScheduler', 'FlowMatchHeunDiscreteScheduler']));
  }

  get shift(): number {
    return this.shiftValue;
  }
  /** diffusers `set_shift` (used by pipelines that change the shift at run time). */
  setShift(shift: number): void {
    this.shiftValue = shift;
  }

  /** mu for dynamic shifting from the number of image tokens (diffusers pipelines' `calculate_shift`). */
  calculateShift(imageSeqLen: number): number {
    return calculateShift(imageSeqLen, this.config);
  }

  setBeginIndex(index: number): void {
    this.beginIndex = index;
  }

  get currentStepIndex(): number | null {
    return this.stepIndex;
  }

  /** Step sigmas (float32, without the terminal value) and timesteps for `n` steps, exactly as diffusers computes them. */
  protected schedule(n: number, opts: SetTimestepsOptions): { sigmas: Float32Array; timesteps: Float32Array } {
    const c = this.config;
    const N = c.numTrainTimesteps;
    if (c.useDynamicShifting && opts.mu === undefined) throw new C.InputError('`mu` must be passed to setTimesteps when use_dynamic_shifting is true (see calculateShift)');
    if (opts.sigmas && opts.timesteps && opts.sigmas.length !== opts.timesteps.length) throw new C.InputError('`sigmas` and `timesteps` must have the same length');
    const custom = opts.sigmas ?? opts.timesteps;
    if (custom && custom.length !== n) throw new C.InputError(`custom sigmas/timesteps have ${custom.length} entries but ${n} steps were asked for`);
    if (!Number.isSafeInteger(n) || n < 1) throw new C.InputError(`number of inference steps must be a positive integer, got ${n}`);

    const customTimesteps = opts.timesteps ? Float32Array.from(opts.timesteps) : null;
    // float32 inputs (custom sigmas) keep float32 arithmetic, as NumPy does with float32 arrays
    const f = opts.sigmas ? f32 : (x: number): number => x;
    let s: number[];
    if (opts.sigmas) s = Array.from(Float32Array.from(opts.sigmas));
    else if (customTimesteps) s = Array.from(customTimesteps, (t) => f32(t / N));
    else s = linspace(this.sigmaMax * N, this.sigmaMin * N, n).map((t) => t / N);

    s = c.useDynamicShifting ? s.map((x) => timeShift(c.timeShiftType, opts.mu!, 1, x, f)) : s.map((x) => shiftSigma(x, this.shiftValue, f));
    if (c.shiftTerminal) s = stretchToTerminal(s, c.shiftTerminal, f);
    if (c.useKarrasSigmas) s = karrasSigmas(s, n);
    else if (c.useExponentialSigmas) s = exponentialSigmas(s, n);
    else if (c.useBetaSigmas) s = betaSigmas(s, n);

    const sigmas = Float32Array.from(s);
    const timesteps = customTimesteps ?? sigmas.map((x) => f32(x * N));
    return { sigmas, timesteps };
  }

  /**
   * diffusers `set_timesteps`: `n` timesteps from sigma_max·N to sigma_min·N, shifted (static or dynamic),
   * optionally stretched to `shift_terminal` and remapped (Karras / exponential / beta); a final 0 (or 1
   * with `invert_sigmas`) is appended to the sigmas.
   */
  setTimesteps(n: number, opts: SetTimestepsOptions = {}): void {
    const { sigmas, timesteps } = this.schedule(n, opts);
    this.numInferenceSteps = n;
    this.assign(sigmas, timesteps);
  }

  protected assign(sigmas: Float32Array, timesteps: Float32Array): void {
    const N = this.config.numTrainTimesteps;
    const out = new Float32Array(sigmas.length + 1);
    if (this.config.invertSigmas) {
      for (let i = 0; i < sigmas.length; i++) out[i] = f32(1 - sigmas[i]!);
      out[sigmas.length] = 1;
      this.timesteps = out.subarray(0, sigmas.length).map((x) => f32(x * N));
    } else {
      out.set(sigmas);
      this.timesteps = timesteps;
    }
    this.sigmas = out;
    this.stepIndex = null;
    this.beginIndex = null;
  }

  /** Index of `timestep` in the schedule: the second match when it repeats (img2img starts mid-schedule). */
  indexForTimestep(timestep: number, schedule: Float32Array = this.timesteps): number {
    const t = f32(timestep);
    const hits: number[] = [];
    for (let i = 0; i < schedule.length; i++) if (schedule[i] === t) hits.push(i);
    if (hits.length === 0) throw new C.InputError(`timestep ${timestep} is not in the schedule; pass one of scheduler.timesteps`);
    return hits.length > 1 ? hits[1]! : hits[0]!;
  }

  protected initStepIndex(timestep: number): void {
    this.stepIndex = this.beginIndex ?? this.indexForTimestep(timestep);
  }

  /**
   * One Euler step of the flow ODE: x + (sigma_next − sigma)·v in float32 (or, with `stochastic_sampling`,
   * re-noise the predicted x0 to sigma_next). Returns a new tensor; the inputs are untouched.
   */
  step(modelOutput: C.Tensor, timestep: number, sample: C.Tensor, opts: StepOptions = {}): C.Tensor {
    if (this.numInferenceSteps === 0) throw new C.InputError('call setTimesteps(n) before step()');
    if (this.stepIndex === null) this.initStepIndex(timestep);
    const i = this.stepIndex!;
    if (i + 1 >= this.sigmas.length) throw new C.InputError(`step ${i} is past the end of the ${this.numInferenceSteps}-step schedule`);
    const sigma = this.sigmas[i]!;
    const next = this.sigmas[i + 1]!;
    const out = C.tidy(() => {
      const x = sample.dtype === 'float32' ? sample : C.cast(sample, 'float32');
      if (this.config.stochasticSampling) {
        const x0 = C.sub(x, C.mul(modelOutput, sigma));
        const noise = C.randomNormal(x.shape, { generator: opts.generator ?? new C.RandomGenerator(Date.now()) });
        return C.add(C.mul(x0, f32(1 - next)), C.mul(noise, next));
      }
      return C.add(x, C.mul(modelOutput, f32(next - sigma)));
    });
    this.stepIndex = i + 1;
    return out;
  }

  /**
   * Forward process at `timestep`: sigma·noise + (1 − sigma)·sample (img2img start). Uses the begin index
   * when one is set (as pipelines do), else looks the timestep up.
   */
  scaleNoise(sample: C.Tensor, timestep: number, noise: C.Tensor): C.Tensor {
    const i = this.beginIndex === null ? this.indexForTimestep(timestep) : (this.stepIndex ?? this.beginIndex);
    const sigma = this.sigmas[i]!;
    return C.tidy(() => C.add(C.mul(noise, sigma), C.mul(sample, f32(1 - sigma))));
  }
}
