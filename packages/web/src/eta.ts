import { RateClock } from '@sdxs/core';

/** Time left in a stage, from the rate measured since the stage's first update (core's RateClock; DOM-free). */
export class StageClock {
  private stage = '';
  // no rate from a single tick, or from a burst of instant updates
  private readonly clock = new RateClock(200);

  /** Milliseconds left in `stage` at `done`/`total`, or undefined while there is no measured rate yet. */
  remaining(stage: string, done: number, total: number, now: number): number | undefined {
    if (stage !== this.stage) this.reset();
    this.stage = stage;
    return this.clock.sample(done, total, now).leftMs;
  }

  reset(): void {
    this.stage = '';
    this.clock.reset();
  }
}

/**
 * The time left, counting down between progress reports: a report that comes once per tile (or step) sets
 * it, and the figure shown keeps moving with the clock until the next report instead of standing still.
 */
export class Countdown {
  private left: number | undefined;
  private at = 0;

  /** A new estimate measured at `now` (undefined: none). */
  set(ms: number | undefined, now: number): void {
    this.left = ms;
    this.at = now;
  }

  /** What is left at `now`: the last estimate less the time since, never below 0; undefined without one. */
  remaining(now: number): number | undefined {
    return this.left === undefined ? undefined : Math.max(0, this.left - (now - this.at));
  }
}

/** 850 ms, 4.2 s, 3 min 5 s, 1 h 2 min. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  // below 59.95 s: at 59 950 ms and above, one decimal would print '60.0 s'
  if (ms < 59_950) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}
