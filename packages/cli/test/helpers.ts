import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type { CliIo } from '../src/io.js';
import { main } from '../src/main.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run the CLI in-process with captured output. */
export async function runCli(argv: string[], env: NodeJS.ProcessEnv = {}, signal = new AbortController().signal, cwd = process.cwd()): Promise<RunResult> {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (d: Buffer) => (stdout += d.toString()));
  err.on('data', (d: Buffer) => (stderr += d.toString()));
  const io: CliIo = { stdout: out, stderr: err as unknown as NodeJS.WriteStream, env: { ...process.env, ...env }, cwd, signal };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

export const tempDir = (prefix: string): Promise<string> => mkdtemp(path.join(tmpdir(), prefix));
