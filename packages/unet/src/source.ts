/** Turning "local folder, URL or hub repo id" into a folder (or URL) holding the UNet's files. */
import * as C from '@sdxs/core';

export interface FromPretrainedOptions {
  /** e.g. 'unet' inside a full pipeline folder */
  subfolder?: string;
  /** weight storage: float32 (default) or 16-bit, converted to float32 per layer when used */
  dtype?: 'float32' | 'float16' | 'bfloat16';
  signal?: AbortSignal;
  onProgress?: (p: { loaded: number; total: number; name: string }) => void;
  /** hub revision (branch, tag or commit) when `source` is a repo id */
  revision?: string;
}

type Resolver = (source: string, opts: { subfolder?: string; revision?: string; signal?: AbortSignal; files?: readonly string[]; checkpoints?: readonly string[] }) => Promise<string>;

const isUrl = (s: string): boolean => /^(https?|file):\/\//i.test(s);

/** Joins a subfolder onto a folder path or URL. */
export function joinDir(dir: string, subfolder?: string): string {
  if (!subfolder) return dir;
  return `${dir.replace(/[\\/]+$/, '')}/${subfolder.replace(/^[\\/]+|[\\/]+$/g, '')}`;
}

/**
 * A folder or URL with `config.json` and the checkpoint. Uses core's `resolveModelSource` (local
 * folders pass through, repo ids download into the cache) when core exports it.
 */
export async function resolveModelDir(source: string, opts: FromPretrainedOptions & { checkpoint?: string; files?: readonly string[] } = {}): Promise<string> {
  if (isUrl(source)) return joinDir(source, opts.subfolder);
  const resolve = (C as unknown as { resolveModelSource?: Resolver }).resolveModelSource;
  if (typeof resolve === 'function') {
    return resolve(source, {
      subfolder: opts.subfolder,
      revision: opts.revision,
      signal: opts.signal,
      files: opts.files ?? ['config.json'],
      checkpoints: [opts.checkpoint ?? 'diffusion_pytorch_model'],
    });
  }
  return joinDir(source, opts.subfolder);
}
