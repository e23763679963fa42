import * as C from '@sdxs/core';
import { parseVaeConfig, type AsymmetricAutoencoderKLConfig } from './config.js';

export interface FromPretrainedOptions {
  /** Folder inside the source, e.g. 'vae' for `AiArtLab/sdxs-1b`. */
  subfolder?: string;
  /** Hub branch, tag or commit (default 'main'). */
  revision?: string;
  /** Hub cache root (default: HF_HUB_CACHE / $HF_HOME/hub / ~/.cache/huggingface/hub). */
  cacheDir?: string;
  /** Storage dtype of the weights: float32 (default; the checkpoint's own precision on ort-*) or 16-bit storage cast per use. */
  dtype?: C.WeightDType;
  /** Hub access token (default: HF_TOKEN). */
  token?: string;
  /** Hub URL (default: HF_ENDPOINT or https://huggingface.co). */
  endpoint?: string;
  /** Use only the hub cache (default: HF_HUB_OFFLINE). */
  offline?: boolean;
  /** Weight loading progress, tensor by tensor (0..total). */
  onProgress?: (p: { loaded: number; total: number; name: string }) => void;
  /** Hub download progress, in bytes. */
  onDownloadProgress?: (p: { file: string; loaded: number; total: number | undefined }) => void;
  signal?: AbortSignal;
}

const WEIGHTS = 'diffusion_pytorch_model';

const isUrl = (s: string): boolean => /^(https?|blob|data):/i.test(s);

/** The folder (path or URL) holding config.json and the weights. */
async function resolveFolder(source: string, opts: FromPretrainedOptions): Promise<string> {
  if (isUrl(source)) return opts.subfolder ? `${source.replace(/\/+$/, '')}/${opts.subfolder}` : source;
  // @sdxs/core's hub turns a local folder or a repo id into a local folder (downloading into the cache).
  return C.resolveModelSource(source, {
    subfolder: opts.subfolder,
    revision: opts.revision,
    cacheDir: opts.cacheDir,
    token: opts.token,
    offline: opts.offline,
    files: ['config.json'],
    checkpoints: [WEIGHTS],
    signal: opts.signal,
    onProgress: opts.onDownloadProgress,
    endpoint: opts.endpoint,
  });
}

/** Reads config.json, builds the model and streams the weights in (strict: every key must match). */
export async function loadPretrained<M extends C.Module & { config: Readonly<AsymmetricAutoencoderKLConfig> }>(
  source: string,
  opts: FromPretrainedOptions,
  build: (c: AsymmetricAutoencoderKLConfig) => M,
): Promise<M> {
  C.throwIfAborted(opts.signal);
  const dir = await resolveFolder(source, opts);
  const raw = await C.loadConfig(dir, undefined, 'config.json', { signal: opts.signal });
  const config = parseVaeConfig(raw, `${dir.replace(/[\\/]+$/, '')}/config.json`);
  const model = build(config);
  let file: C.SafetensorsFile | undefined;
  try {
    file = await C.openCheckpoint(dir, WEIGHTS, { signal: opts.signal });
    await C.loadWeights(model, file, { dtype: opts.dtype, strict: true, onProgress: opts.onProgress, signal: opts.signal });
    return model;
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    await file?.close();
  }
}
