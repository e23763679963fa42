import { InputError } from '@sdxs/core';
import { statSync, type Stats } from 'node:fs';
import path from 'node:path';
import type { TrainConfig } from './config.js';

const statOrNull = (p: string): Stats | null => {
  try {
    return statSync(p);
  } catch {
    return null;
  }
};

/**
 * Checks the run's folders before any work: the dataset must be an existing folder, and the output a
 * folder or a path that can become one (no file in its place or above it). Each problem is one-line
 * InputError naming the path and the config key.
 */
export function checkRunPaths(cfg: Pick<TrainConfig, 'dataset' | 'output'>, configFile: string): void {
  const ds = statOrNull(cfg.dataset);
  if (!ds) throw new InputError(`${cfg.dataset}: no such dataset folder ("dataset" in ${configFile}); make one with 'sdxs data convert --in <images> --out <folder>'`);
  if (!ds.isDirectory()) throw new InputError(`${cfg.dataset}: is a file, not a dataset folder ("dataset" in ${configFile}); give the folder made by 'sdxs data convert'`);
  for (let p = path.resolve(cfg.output); ; p = path.dirname(p)) {
    const st = statOrNull(p);
    if (st && !st.isDirectory()) {
      const what = p === path.resolve(cfg.output) ? 'is an existing file' : `cannot be created: ${p} is a file`;
      throw new InputError(`${cfg.output}: the run folder ${what} ("output" in ${configFile} or -o); choose a folder`);
    }
    if (st || path.dirname(p) === p) return;
  }
}
