/**
 * Temporary files of a killed run. Every atomic write here names its temporary file with the writer's
 * process id (`<name>.tmp-<pid>-…`, `.<name>.partial-<pid>-…`); a later run removes those whose
 * process is gone. Node only (imports are lazy).
 */

/** Whether a process with this id is running (a process we may not signal counts as running). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (typeof process === 'undefined') return true;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Temporary-file names written by this project: the pid follows `.tmp-` or `.partial-`. */
const TEMP_RE = /\.(?:tmp|partial)-(\d+)(?:[-.]|$)/;

/**
 * Removes, from `dir` (not recursively), the temporary files of writers that are no longer running.
 * Returns the names removed. Missing folders and races with other cleaners are ignored.
 */
export async function removeStaleTempFiles(dir: string): Promise<string[]> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = TEMP_RE.exec(name);
    if (!m || isProcessAlive(Number(m[1]))) continue;
    try {
      const st = await fs.lstat(path.join(dir, name));
      if (!st.isFile()) continue;
      await fs.rm(path.join(dir, name), { force: true });
      removed.push(name);
    } catch {
      // another cleaner got there first
    }
  }
  return removed;
}
