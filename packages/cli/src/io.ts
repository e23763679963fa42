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
