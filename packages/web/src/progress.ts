/** The progress card: stage, count (step i/n), bar, ETA, elapsed time and the Cancel button. */
import { byId } from './dom.js';
import { Countdown, StageClock, formatMs } from './eta.js';

export interface ProgressUpdate {
  /** what is happening, e.g. 'Denoising' */
  stage: string;
  done: number;
  /** 0 when unknown (indeterminate bar) */
  total: number;
  /** what is counted, e.g. 'step', 'tile', 'tensors' */
  unit?: string;
  /** overall fraction for the bar when the work knows better than done/total */
  fraction?: number;
  /** time left when the work measures it itself */
  etaMs?: number;
}

export type ProgressState = 'idle' | 'running' | 'done' | 'failed' | 'cancelled';

export class ProgressView {
  private readonly root = byId('progress', HTMLElement);
  private readonly bar = byId('progress-bar', HTMLProgressElement);
  private readonly stage = byId('progress-stage', HTMLElement);
  private readonly count = byId('progress-count', HTMLElement);
  private readonly eta = byId('progress-eta', HTMLElement);
  readonly cancel = byId('progress-cancel', HTMLButtonElement);
  private readonly clock = new StageClock();
  private started = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly left = new Countdown();

  /** A new run: an indeterminate bar, Cancel enabled. */
  start(stage: string): void {
    this.clock.reset();
    this.started = performance.now();
    this.left.set(undefined, 0);
    this.setState('running');
    this.cancel.disabled = false;
    this.update({ stage, done: 0, total: 0 });
    clearInterval(this.timer);
    this.timer = setInterval(() => this.renderTime(), 500);
  }

  update(u: ProgressUpdate): void {
    const fraction = u.fraction ?? (u.total > 0 ? u.done / u.total : undefined);
    if (fraction !== undefined) this.bar.value = Math.min(1, Math.max(0, fraction));
    else this.bar.removeAttribute('value');
    this.stage.textContent = u.stage;
    this.count.textContent = u.total > 0 ? `${u.unit ? `${u.unit} ` : ''}${u.done}/${u.total}` : '';
    const now = performance.now();
    const measured = u.total > 0 ? this.clock.remaining(u.stage, u.done, u.total, now) : undefined;
    // a finished count says nothing about what comes next (compiling, the next stage): no "0 ms left"
    this.left.set(u.etaMs ?? (u.total > 0 && u.done >= u.total ? undefined : measured), now);
    this.renderTime();
  }

  /** Ends the run: the text replaces the stage; the bar is full when done, empty otherwise. */
  finish(state: Exclude<ProgressState, 'idle' | 'running'>, text: string): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.setState(state);
    this.cancel.disabled = true;
    this.bar.value = state === 'done' ? 1 : 0;
    this.stage.textContent = text;
    this.count.textContent = '';
    this.eta.textContent = `${state === 'done' ? 'took' : 'after'} ${formatMs(performance.now() - this.started)}`;
  }

  get state(): ProgressState {
    return (this.root.dataset.state as ProgressState | undefined) ?? 'idle';
  }

  private setState(s: ProgressState): void {
    this.root.dataset.state = s;
  }

  private renderTime(): void {
    if (this.state !== 'running') return;
    const now = performance.now();
    const elapsed = formatMs(now - this.started);
    const left = this.left.remaining(now);
    const leftText = left === undefined ? '' : left > 0 ? `about ${formatMs(left)} left · ` : 'finishing · ';
    this.eta.textContent = `${leftText}${elapsed} elapsed`;
  }
}
