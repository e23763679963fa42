/** Progress with an ETA for a job made of encode and decode steps. */
import { RateClock } from '@sdxs/core';

export interface UpscaleProgress {
  /** What just finished: an encode tile, a decode tile, or (video) a frame. */
  stage: 'encode' | 'decode' | 'frame';
  /** Steps done / total in the current job (tiles of one image; frames of a video). */
  done: number;
  total: number;
  /** Estimated fraction of the work done, 0..1. */
  fraction: number;
  elapsedMs: number;
  /** Estimated milliseconds left (undefined until something was measured). */
  etaMs: number | undefined;
}

export type ProgressCallback = (p: UpscaleProgress) => void;

/** A RateClock started at 0 ms with 0 done, taking every interval (no minimum span). */
function startedClock(t0 = 0): RateClock {
  const c = new RateClock(0);
  c.start(t0);
  return c;
}

/**
 * Tracks steps of two kinds with different costs. The rate of a kind is measured as its steps finish, over the
 * time spent on that kind (a RateClock whose time is the kind's own); until a kind has been measured it is
 * assumed to cost `defaultRatio` times the other.
 */
export class ProgressTracker {
  private readonly t0 = Date.now();
  private readonly spent = { encode: 0, decode: 0 };
  private readonly doneBy = { encode: 0, decode: 0 };
  private readonly clocks = { encode: startedClock(), decode: startedClock() };
  private last = Date.now();

  constructor(
    private readonly totals: { encode: number; decode: number },
    private readonly onProgress: ProgressCallback | undefined,
    private readonly defaultRatio = 3,
  ) {}

  step(kind: 'encode' | 'decode'): void {
    const now = Date.now();
    this.spent[kind] += now - this.last;
    this.last = now;
    this.doneBy[kind]++;
    if (!this.onProgress) return;
    // ms per step of a kind: the inverse of its measured rate
    const avg = (k: 'encode' | 'decode'): number | undefined => {
      const perMs = this.clocks[k].sample(this.doneBy[k], this.totals[k], this.spent[k]).perMs;
      return perMs === undefined ? undefined : 1 / perMs;
    };
    const e = avg('encode');
    const d = avg('decode');
    const enc = e ?? (d !== undefined ? d / this.defaultRatio : undefined);
    const dec = d ?? (e !== undefined ? e * this.defaultRatio : undefined);
    const left = enc === undefined || dec === undefined ? undefined : (this.totals.encode - this.doneBy.encode) * enc + (this.totals.decode - this.doneBy.decode) * dec;
    const elapsedMs = now - this.t0;
    const done = this.doneBy.encode + this.doneBy.decode;
    const total = this.totals.encode + this.totals.decode;
    const fraction = left === undefined ? done / total : elapsedMs + left > 0 ? elapsedMs / (elapsedMs + left) : 1;
    this.onProgress({ stage: kind, done, total, fraction, elapsedMs, etaMs: left === undefined ? undefined : Math.max(0, Math.round(left)) });
  }
}

/** A rough ETA over a sequence of equal steps (video frames) that started at `t0`, without a total when unknown. */
export function sequenceProgress(done: number, total: number | undefined, t0: number): UpscaleProgress {
  const now = Date.now();
  const left = startedClock(t0).sample(done, total ?? 0, now).leftMs;
  const tot = total ?? done;
  return {
    stage: 'frame',
    done,
    total: tot,
    fraction: tot > 0 ? Math.min(1, done / tot) : 0,
    elapsedMs: now - t0,
    etaMs: left === undefined ? undefined : Math.round(left),
  };
}
