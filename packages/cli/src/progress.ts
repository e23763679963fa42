/** A terminal progress bar with rate and ETA, for long work (downloads, denoising, upscaling). */
import { RateClock } from '@sdxs/core';

export interface ProgressSink {
  update(done: number, total: number, label?: string): void;
  done(message?: string): void;
}

export interface ProgressBarOptions {
  stream?: NodeJS.WriteStream;
  width?: number;
  /** unit for the rate, e.g. 'it', 'B', 'frames' */
  unit?: string;
  /** render bytes as KiB/MiB */
  bytes?: boolean;
  /**
   * non-TTY outputs (log files, pipes): ms from the start of the bar to its first plain line and between
   * lines; a stage that ends sooner prints only its final line (default 5000)
   */
  throttleMs?: number;
  now?: () => number;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const mm = String(m).padStart(2, '0');
  const ss = String(sec).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

export class ProgressBar implements ProgressSink {
  private readonly start: number;
  private lastDraw = 0;
  private readonly stream: NodeJS.WriteStream;
  private readonly opts: Required<Pick<ProgressBarOptions, 'width' | 'unit' | 'bytes' | 'throttleMs'>>;
  private readonly now: () => number;
  private lastLine = '';

  constructor(private readonly title: string, opts: ProgressBarOptions = {}) {
    this.stream = opts.stream ?? process.stderr;
    this.now = opts.now ?? (() => performance.now());
    this.start = this.now();
    this.opts = { width: opts.width ?? 28, unit: opts.unit ?? 'it', bytes: opts.bytes ?? false, throttleMs: opts.throttleMs ?? 5000 };
    this.lastDraw = this.start;
  }

  /** Rate and ETA, measured from the first update (core's RateClock): no rate until 250 ms have passed. */
  private readonly clock = new RateClock();

  /** The line that would be drawn (exposed for tests). A non-TTY stream gets a plain line without bar glyphs. */
  render(done: number, total: number, label = ''): string {
    const { perMs, leftMs } = this.clock.sample(done, total, this.now());
    const frac = total > 0 ? Math.min(1, done / total) : 0;
    const filled = Math.round(frac * this.opts.width);
    const bar = this.stream.isTTY ? ` ${'█'.repeat(filled)}${'░'.repeat(this.opts.width - filled)}` : '';
    // No rate until there is a measured interval: the first tick would otherwise show thousands per second.
    const rate = perMs === undefined ? undefined : perMs * 1000;
    const eta = leftMs === undefined ? NaN : leftMs / 1000;
    const count = this.opts.bytes ? `${formatBytes(done)}/${formatBytes(total)}` : `${done}/${total}`;
    const rateStr = rate === undefined ? `-- ${this.opts.bytes ? 'B' : this.opts.unit}/s` : this.opts.bytes ? `${formatBytes(rate)}/s` : `${rate.toFixed(2)} ${this.opts.unit}/s`;
    return `${this.title}${bar} ${(frac * 100).toFixed(0).padStart(3)}% ${count} ${rateStr} ETA ${formatDuration(eta)}${label ? ` ${label}` : ''}`;
  }

  update(done: number, total: number, label?: string): void {
    const line = this.render(done, total, label);
    const t = this.now();
    if (this.stream.isTTY) {
      this.stream.write(`\r${line}\x1b[K`);
    } else if (t - this.lastDraw >= this.opts.throttleMs && done < total) {
      // a log gets a line now and then while a long stage runs; the end is done()'s one line
      if (line !== this.lastLine) this.stream.write(`${line}\n`);
      this.lastDraw = t;
    }
    this.lastLine = line;
    this.lastCount = total > 0 ? (this.opts.bytes ? `${formatBytes(done)}/${formatBytes(total)}` : `${done}/${total}`) : '';
  }

  private lastCount = '';

  /** One final line: the message (or the title with the last count) and the time taken. */
  done(message?: string): void {
    const elapsed = (this.now() - this.start) / 1000;
    if (this.stream.isTTY) this.stream.write('\r\x1b[K');
    const text = message ?? (this.lastCount ? `${this.title} ${this.lastCount}` : this.title);
    this.stream.write(`${text} (${formatDuration(elapsed)})\n`);
  }
}

/** A sink that prints nothing (for --json and --quiet). */
export const silentProgress: ProgressSink = { update: () => {}, done: () => {} };
