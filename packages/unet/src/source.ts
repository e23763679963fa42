/** Turning "local folder, URL or hub repo id" into a folder (or URL) holding the UNet's files. */
import * as C from '@sdxs/core';

export interface FromPretrainedOptions {
  /** e.g. 'unet' inside a full pipeline folder */
  subfolder?: string;
  /** weight storage: float32 (default) or 16-bit, converted to float32 per layer when used */
  dtype?: C.WeightDType;
  signal?: AbortSignal;
  onProgress?: (p: { loaded: number; total: number; name: string }) => void;
  /** hub revision (branch, tag or commit) when `source` is a repo id */
  revision?: string;
}

/**
 * A folder (local path or URL) with `config.json` and the checkpoint: local folders and URLs pass
 * through, hub repo ids are downloaded into the cache (core's resolveModelSource).
 */
export function resolveModelDir(source: string, opts: FromPretrainedOptions & { checkpoint?: string; files?: readonly string[] } = {}): Promise<string> {
  return C.resolveModelSource(source, {
    subfolder: opts.subfolder,
    revision: opts.revision,
    signal: opts.signal,
    files: opts.files ?? ['config.json'],
    checkpoints: [opts.checkpoint ?? 'diffusion_pytorch_model'],
  });
}
