import * as C from '@sdxs/core';
import { appendFileSync, mkdirSync, renameSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { lossCurveSvg } from './loss-plot.js';
import type { StepStats } from './trainer.js';

export interface LogRecord {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  /** Samples per second and optimizer steps per second over this step. */
  samplesPerSec: number;
  stepsPerSec: number;
  stepMs: number;
  /** Process resident set size and the tensor engine's live bytes, in MiB. */
  rssMiB: number;
  tensorMiB: number;
  epoch?: number;
  time: string;
}

/**
 * Appends one JSON line per step to `<dir>/log.jsonl` and rewrites `<dir>/loss.svg` every
 * `plotEvery` steps (atomically). On resume, earlier lines up to the resumed step are kept.
 */
export class TrainLogger {
  readonly jsonl: string;
  readonly svg: string;
  private readonly points: { step: number; loss: number }[] = [];
  constructor(readonly dir: string, readonly plotEvery = 10, resumeStep = 0) {
    mkdirSync(dir, { recursive: true });
    this.jsonl = path.join(dir, 'log.jsonl');
    this.svg = path.join(dir, 'loss.svg');
    if (existsSync(this.jsonl)) {
      const kept: string[] = [];
      const lines = readFileSync(this.jsonl, 'utf8').split('\n');
      // The last line is only complete when the file ends in a newline: a run killed mid-write leaves a
      // torn line, which is dropped (the step is logged again when it is redone). A bad line elsewhere
      // means the file was edited or damaged: an error naming the line.
      const last = lines.length - 1;
      lines.forEach((line, i) => {
        if (!line.trim()) return;
        let r: LogRecord;
        try {
          r = JSON.parse(line) as LogRecord;
          if (typeof r !== 'object' || r === null || typeof r.step !== 'number') throw new Error('no numeric step');
        } catch (e) {
          if (i === last) return;
          throw new C.InputError(`${this.jsonl}:${i + 1}: not a log record (${C.clip((e as Error).message, 80)}); fix or remove the line to resume`);
        }
        if (r.step > resumeStep) return;
        kept.push(line);
        this.points.push({ step: r.step, loss: r.loss });
      });
      const tmp = `${this.jsonl}.tmp-${process.pid}`;
      writeFileSync(tmp, kept.length ? `${kept.join('\n')}\n` : '');
      renameSync(tmp, this.jsonl);
    }
  }

  log(s: StepStats, extra: { epoch?: number } = {}): LogRecord {
    const mem = C.memory();
    const r: LogRecord = {
      step: s.step,
      loss: s.loss,
      lr: s.lr,
      gradNorm: s.gradNorm,
      samplesPerSec: (s.samples * 1000) / s.ms,
      stepsPerSec: 1000 / s.ms,
      stepMs: s.ms,
      rssMiB: process.memoryUsage().rss / 2 ** 20,
      tensorMiB: mem.numBytes / 2 ** 20,
      ...extra,
      time: new Date().toISOString(),
    };
    appendFileSync(this.jsonl, `${JSON.stringify(r)}\n`);
    this.points.push({ step: r.step, loss: r.loss });
    if (r.step % this.plotEvery === 0) this.plot();
    return r;
  }

  plot(): void {
    const tmp = `${this.svg}.tmp-${process.pid}`;
    writeFileSync(tmp, lossCurveSvg(this.points));
    renameSync(tmp, this.svg);
  }
}
