/**
 * One measured child process of the device run: started with a time cap (killed when it runs over), its peak resident set polled from /proc, and the GPU's used memory sampled with nvidia-smi while it
 * runs (one process at a time uses the GPU, so the rise over the baseline is that process's).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

export interface ChildRun {
  rc: number | null;
  timedOut: boolean;
  wallS: number;
  stdout: string;
  /** the last lines of stderr */
  stderrTail: string;
  /** peak VmHWM seen while polling (MiB) */
  peakRssMiB: number | null;
  /** GPU memory used, MiB: before the start, and the peak while it ran (nvidia-smi; null without it) */
  gpuBaseMiB: number | null;
  gpuPeakMiB: number | null;
}

export interface ChildSpec {
  cmd: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  capS: number;
  /** stderr lines are also appended here as they come (the run's log) */
  onStderr?: (chunk: string) => void;
}

/**
 * The children still running: the driver ends them when it exits or is told to stop. They stay in the driver's
 * process group (not a session of their own), so the device tool also ends them with the command.
 */
const live = new Set<number>();
const killAll = (): void => {
  for (const pid of live) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  live.clear();
};
process.on('exit', killAll);
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  process.on(sig, () => {
    killAll();
    process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGHUP' ? 1 : 15));
  });
}

let smi: boolean | null = null;
/** Whether nvidia-smi answers here. */
export function haveNvidiaSmi(): boolean {
  smi ??= spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8', timeout: 15_000 }).status === 0;
  return smi;
}

/** nvidia-smi's one-line answer to a query (first GPU), or null. */
export function nvidiaQuery(fields: string): string | null {
  if (!haveNvidiaSmi()) return null;
  const r = spawnSync('nvidia-smi', [`--query-gpu=${fields}`, '--format=csv,noheader,nounits'], { encoding: 'utf8', timeout: 15_000 });
  return r.status === 0 ? (r.stdout.split('\n')[0] ?? '').trim() : null;
}

function gpuUsedMiB(): number | null {
  const q = nvidiaQuery('memory.used');
  const v = q === null || q === '' ? NaN : Number(q);
  return Number.isFinite(v) ? v : null;
}

function vmHwmMiB(pid: number): number | null {
  const file = `/proc/${pid}/status`;
  if (!existsSync(file)) return null;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(file, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Runs the child to its end or its cap; never rejects. */
export function runChild(spec: ChildSpec): Promise<ChildRun> {
  const gpuBaseMiB = gpuUsedMiB();
  let gpuPeakMiB = gpuBaseMiB;
  const sampler = haveNvidiaSmi() ? spawn('nvidia-smi', ['--query-gpu=memory.used', '--format=csv,noheader,nounits', '-lms', '200'], { stdio: ['ignore', 'pipe', 'ignore'] }) : null;
  sampler?.stdout.on('data', (b: Buffer) => {
    for (const l of b.toString().split('\n')) {
      const v = Number(l.trim());
      if (l.trim() && Number.isFinite(v)) gpuPeakMiB = Math.max(gpuPeakMiB ?? 0, v);
    }
  });
  const t0 = performance.now();
  const child = spawn(spec.cmd, [...spec.args], { env: spec.env ?? process.env, cwd: spec.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid !== undefined) live.add(child.pid);
  let stdout = '';
  let stderr = '';
  let peakRssMiB: number | null = null;
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => {
    const s = b.toString();
    stderr = (stderr + s).slice(-8000);
    spec.onStderr?.(s);
  });
  const poll = setInterval(() => {
    if (child.pid === undefined) return;
    const v = vmHwmMiB(child.pid);
    if (v !== null) peakRssMiB = Math.max(peakRssMiB ?? 0, v);
  }, 250);
  let timedOut = false;
  const kill = (): void => {
    try {
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  };
  const cap = setTimeout(() => {
    timedOut = true;
    kill();
  }, spec.capS * 1000);
  return new Promise((resolve) => {
    const finish = (rc: number | null): void => {
      if (child.pid !== undefined) live.delete(child.pid);
      clearTimeout(cap);
      clearInterval(poll);
      sampler?.kill('SIGKILL');
      const tail = stderr.split('\n').slice(-15).join('\n');
      resolve({ rc, timedOut, wallS: (performance.now() - t0) / 1000, stdout, stderrTail: tail, peakRssMiB, gpuBaseMiB, gpuPeakMiB });
    };
    child.on('error', (e) => {
      stderr += `\n${e.message}`;
      finish(null);
    });
    child.on('close', (code) => finish(code));
  });
}

/** Every `CHECK {json}` line a worker printed (parity checks as they came), parsed. */
export function checkLines<T>(stdout: string): T[] {
  const out: T[] = [];
  for (const l of stdout.split('\n')) {
    if (!l.startsWith('CHECK ')) continue;
    try {
      out.push(JSON.parse(l.slice('CHECK '.length)) as T);
    } catch {
      /* a line cut by the kill */
    }
  }
  return out;
}

/** The `RESULT {json}` line a worker printed, parsed, or null. */
export function resultLine<T>(stdout: string): T | null {
  const l = stdout.split('\n').find((x) => x.startsWith('RESULT '));
  if (!l) return null;
  try {
    return JSON.parse(l.slice('RESULT '.length)) as T;
  } catch {
    return null;
  }
}
