import { InputError } from '@sdxs/core';

export interface LrScheduleConfig {
  /** Peak learning rate (default 4e-5). */
  baseLr?: number;
  /** Floor reached at the end of the decay (default 4e-6). */
  minLr?: number;
  /** Linear warmup from 0 over this many optimizer steps (default 0). */
  warmupSteps?: number;
  /** Total optimizer steps; the decay ends here (required for cosine/linear). */
  totalSteps: number;
  /** Shape of the decay after warmup (default 'cosine'). */
  decay?: 'cosine' | 'linear' | 'constant';
  /**
   * Per-stage multipliers (the seed used 0.5, 1, 3, 5): the whole LR curve is scaled by the multiplier of
   * the stage the step falls in. Stages split `totalSteps` evenly unless `stageStarts` gives the first
   * step of each stage (ascending, starting at 0).
   */
  stageMultipliers?: readonly number[];
  stageStarts?: readonly number[];
}

/** Learning rate as a pure function of the optimizer step (0-based), so resuming needs only the step. */
export class LrSchedule {
  readonly config: Required<Omit<LrScheduleConfig, 'stageStarts'>> & { stageStarts: number[] };

  constructor(cfg: LrScheduleConfig) {
    const mult = cfg.stageMultipliers && cfg.stageMultipliers.length > 0 ? [...cfg.stageMultipliers] : [1];
    const total = cfg.totalSteps;
    if (!(Number.isInteger(total) && total > 0)) throw new InputError(`totalSteps must be a positive integer, got ${total}`);
    const starts = cfg.stageStarts ? [...cfg.stageStarts] : mult.map((_, i) => Math.floor((i * total) / mult.length));
    if (starts.length !== mult.length || starts[0] !== 0 || starts.some((s, i) => i > 0 && s <= starts[i - 1]!)) {
      throw new InputError(`stageStarts must be ascending, start at 0 and have one entry per multiplier (${mult.length})`);
    }
    this.config = {
      baseLr: cfg.baseLr ?? 4e-5,
      minLr: cfg.minLr ?? 4e-6,
      warmupSteps: cfg.warmupSteps ?? 0,
      totalSteps: total,
      decay: cfg.decay ?? 'cosine',
      stageMultipliers: mult,
      stageStarts: starts,
    };
    if (this.config.minLr > this.config.baseLr) throw new InputError(`minLr ${this.config.minLr} exceeds baseLr ${this.config.baseLr}`);
  }

  /** Index of the stage that `step` falls in. */
  stage(step: number): number {
    const s = this.config.stageStarts;
    let i = 0;
    while (i + 1 < s.length && step >= s[i + 1]!) i++;
    return i;
  }

  lr(step: number): number {
    const { baseLr, minLr, warmupSteps, totalSteps, decay, stageMultipliers } = this.config;
    const m = stageMultipliers[this.stage(step)]!;
    if (step < warmupSteps) return (m * baseLr * (step + 1)) / warmupSteps;
    if (decay === 'constant') return m * baseLr;
    const span = Math.max(1, totalSteps - warmupSteps);
    const p = Math.min(1, (step - warmupSteps) / span);
    const f = decay === 'cosine' ? 0.5 * (1 + Math.cos(Math.PI * p)) : 1 - p;
    return m * (minLr + (baseLr - minLr) * f);
  }
}
