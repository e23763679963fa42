/** What a RateClock measured at a sample. */
export interface RateEstimate {
  /** units per millisecond since the first sample; undefined until an interval was measured */
  perMs: number | undefined;
  /** milliseconds left to `total` at that rate (0 once done reaches it); undefined without a rate or a total */
  leftMs: number | undefined;
}

const NONE: RateEstimate = { perMs: undefined, leftMs: undefined };

/**
 * The ETA of sdxs (the CLI's progress bars, the upscaler, the web page): the rate of a count measured from its
 * first sample, so that work done before it (a resumed download, a cached step) does not inflate it, and the time
 * left at that rate. Times are milliseconds on any clock the caller keeps. DOM- and Node-free.
 */
export class RateClock {
  private first: { t: number; done: number } | undefined;

  /** @param minSpanMs no rate from an interval shorter than this: a single tick, or a burst of instant updates */
  constructor(private readonly minSpanMs = 250) {}

  /** Make (now, done) the first sample, e.g. the start of a job with nothing done. */
  start(now: number, done = 0): void {
    this.first = { t: now, done };
  }

  /** A sample: `done` of `total` (0 or less: unknown) at `now`. The first one, or one whose count went back, starts the clock. */
  sample(done: number, total: number, now: number): RateEstimate {
    if (!this.first || done < this.first.done) {
      this.start(now, done);
      return NONE;
    }
    const span = now - this.first.t;
    const units = done - this.first.done;
    if (units <= 0 || span < this.minSpanMs) return NONE;
    return { perMs: units / span, leftMs: total > 0 ? (Math.max(0, total - done) * span) / units : undefined };
  }

  /** Forget the first sample: the next one starts the clock again. */
  reset(): void {
    this.first = undefined;
  }
}
