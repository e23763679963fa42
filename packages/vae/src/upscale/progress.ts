/** Progress with an ETA for a job made of encode and decode steps. */

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

/**
 * Tracks steps of two kinds with different costs. The cost of a kind is measured as its steps finish;
 * until a kind has been measured it is assumed to cost `defaultRatio` times the other.
 */
export class ProgressTracker {
  private readonly t0 = Date.now();
  private readonly spent = { encode: 0, decode: 0 };
  private readonly doneBy = { encode: 0, decode: 0 };
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
    const avg = (k: 'encode' | 'decode'): number | undefined => (this.doneBy[k] > 0 ? this.spent[k] / this.doneBy[k] : undefined);
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

/** A rough ETA over a sequence of equal steps (video frames). */
export function sequenceProgress(done: number, total: number | undefined, t0: number): UpscaleProgress {
  const elapsedMs = Date.now() - t0;
  const per = done > 0 ? elapsedMs / done : undefined;
  const tot = total ?? done;
  return {
    stage: 'frame',
    done,
    total: tot,
    fraction: tot > 0 ? Math.min(1, done / tot) : 0,
    elapsedMs,
    etaMs: per !== undefined && total !== undefined ? Math.max(0, Math.round(per * (total - done))) : undefined,
  };
}
