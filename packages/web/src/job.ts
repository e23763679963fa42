/**
 * One run at a time (upscale or generate): the progress card, Cancel through an AbortSignal, and failures
 * explained in the notice box. Cancel answers at once; the work itself stops at its next abort check, and a new
 * run waits for that before it starts (models are shared).
 */
import { explainFailure, isAbort, needsProbe, probeModelFile } from './diagnose.js';
import { clearNotice, showExplanation } from './notice.js';
import { ProgressView, type ProgressUpdate } from './progress.js';
import { currentSettings, modelUrlSetting, type Settings } from './settings.js';

/** Where a run reports progress; reports stop reaching the page once the run was cancelled. */
export interface JobProgress {
  update(u: ProgressUpdate): void;
}

export interface JobContext {
  signal: AbortSignal;
  settings: Settings;
  progress: JobProgress;
}

export interface JobSpec<T> {
  /** first progress line, e.g. 'Reading the image' */
  startText: string;
  /** a JSON file of the model folder that this job needs, probed when it fails, e.g. 'vae/config.json' */
  probeFile: string;
  work(ctx: JobContext): Promise<T>;
  /** the progress line when done */
  doneText(result: T, ms: number, settings: Settings): string;
}

export interface JobResult<T> {
  result: T;
  ms: number;
  settings: Settings;
}

let progressView: ProgressView | undefined;
let active: AbortController | null = null;
/** settles when the last started work has really stopped (not just been cancelled) */
let tail: Promise<unknown> = Promise.resolve();
let tailSettled = true;
const busyListeners = new Set<(busy: boolean) => void>();

function progress(): ProgressView {
  if (!progressView) {
    progressView = new ProgressView();
    progressView.cancel.addEventListener('click', cancelJob);
  }
  return progressView;
}

export function isBusy(): boolean {
  return active !== null;
}

/** `listener(busy)` whenever a run starts or ends (tabs disable their buttons). */
export function onBusyChange(listener: (busy: boolean) => void): void {
  busyListeners.add(listener);
}

export function cancelJob(): void {
  active?.abort(new DOMException('cancelled', 'AbortError'));
}

function abortError(): DOMException {
  return new DOMException('cancelled', 'AbortError');
}

/** Rejects as soon as `signal` fires, whatever `p` does. */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) reject(abortError());
    const onAbort = (): void => reject(abortError());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function setBusy(busy: boolean): void {
  for (const l of busyListeners) l(busy);
}

/** Runs `spec` unless a run is going on (then returns undefined at once); undefined too when it failed or was cancelled. */
export async function runJob<T>(spec: JobSpec<T>): Promise<JobResult<T> | undefined> {
  if (active) return undefined;
  const controller = new AbortController();
  const { signal } = controller;
  active = controller;
  setBusy(true);
  const view = progress();
  clearNotice();
  view.start(tailSettled ? spec.startText : 'Waiting for the cancelled run to stop');
  // a cancelled run goes on until its next abort check: its reports must not overwrite the next run's
  const report: JobProgress = { update: (u) => active === controller && !signal.aborted && view.update(u) };
  const previous = tail;
  const work = (async (): Promise<JobResult<T>> => {
    await previous;
    if (signal.aborted) throw abortError();
    report.update({ stage: spec.startText, done: 0, total: 0 });
    const settings = await currentSettings();
    if (signal.aborted) throw abortError();
    const t0 = performance.now();
    const result = await spec.work({ signal, settings, progress: report });
    return { result, ms: performance.now() - t0, settings };
  })();
  tailSettled = false;
  const settled = work.then(
    () => undefined,
    () => undefined,
  );
  tail = settled;
  void settled.then(() => {
    if (tail === settled) tailSettled = true;
  });
  try {
    const r = await abortable(work, signal);
    view.finish('done', spec.doneText(r.result, r.ms, r.settings));
    return r;
  } catch (e) {
    if (isAbort(e) || signal.aborted) {
      view.finish('cancelled', 'Cancelled: nothing was added to the results');
      return undefined;
    }
    console.error(e);
    const modelUrl = modelUrlSetting();
    const probe = needsProbe(e) ? await probeModelFile(`${modelUrl}/${spec.probeFile}`) : undefined;
    const x = explainFailure(e, { modelUrl, file: spec.probeFile, probe, pageOrigin: location.origin, online: navigator.onLine });
    showExplanation(x);
    view.finish('failed', `Failed: ${x.title}`);
    return undefined;
  } finally {
    active = null;
    setBusy(false);
  }
}
