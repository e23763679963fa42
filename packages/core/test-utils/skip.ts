import { test } from 'vitest';

export interface SkipOptions {
  /**
   * CI installs what the guard asks for (a fixture, a backend, Chromium, ffmpeg, the build): under CI
   * (CI=1) its absence is a broken machine, and a failing test says what is missing instead of a skip.
   * False for what CI does not have (a real GPU, CUDA, the full-size model, root).
   */
  ciRequired: boolean;
}

/** Whether this run is CI's (`.ci/run` sets CI=1; hosted CI services set CI=true). */
export const underCi = (env: NodeJS.ProcessEnv = process.env): boolean => env.CI === '1' || env.CI === 'true';

/**
 * The one guard for tests that need something the machine may lack: returns whether to skip (true when
 * `have` is false), for `describe.skipIf` / `test.skipIf`. A skip prints `reason`. Under CI, when
 * `ciRequired`, it registers a failing test named with the reason in the enclosing suite instead of letting
 * the guarded tests vanish.
 */
export function skipUnless(have: boolean, reason: string, opts: SkipOptions): boolean {
  if (have) return false;
  if (opts.ciRequired && underCi()) {
    test(`required under CI: ${reason}`, () => {
      throw new Error(`CI installs this, so it must be here: ${reason}`);
    });
  } else console.warn(`[sdxs tests] skipped: ${reason}`);
  return true;
}
