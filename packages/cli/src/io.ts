import { EXIT } from './cli-error.js';
import type { ProgressSink } from './progress.js';
import { ProgressBar, silentProgress } from './progress.js';

/** What a command may touch: streams, environment, cancellation. Tests pass their own. */
export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** fires on Ctrl-C */
  signal: AbortSignal;
}

export interface Command {
  name: string;
  summary: string;
  help: string;
  run(argv: string[], io: CliIo): Promise<number>;
}

export function processIo(signal: AbortSignal): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), signal };
}

/** A progress bar unless machine-readable output or quiet mode was asked for. */
export function progressFor(io: CliIo, title: string, opts: { json?: boolean; quiet?: boolean; bytes?: boolean; unit?: string } = {}): ProgressSink {
  if (opts.json || opts.quiet) return silentProgress;
  return new ProgressBar(title, { stream: io.stderr, bytes: opts.bytes, unit: opts.unit });
}

/** What abortOnSignals needs of `process` (tests pass an EventEmitter). */
export interface SignalSource {
  on(event: 'SIGINT' | 'SIGTERM', listener: () => void): unknown;
}

/**
 * Ctrl-C (SIGINT) and SIGTERM abort `controller` so the command stops cleanly (outputs are written
 * atomically, partial downloads and dataset parts are kept for a rerun); a second signal exits at once
 * with the interrupted code.
 */
export function abortOnSignals(controller: AbortController, source: SignalSource = process, exit: (code: number) => void = (c) => process.exit(c)): void {
  let signals = 0;
  const on = (name: string) => (): void => {
    if (++signals > 1) return exit(EXIT.interrupted);
    controller.abort(name === 'SIGINT' ? 'interrupted by Ctrl-C' : 'terminated by SIGTERM');
  };
  source.on('SIGINT', on('SIGINT'));
  source.on('SIGTERM', on('SIGTERM'));
}
