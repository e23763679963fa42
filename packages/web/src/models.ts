/**
 * The models the page holds, loaded from a model folder URL (config and weights fetched with HTTP Range
 * requests; nothing is cached on disk by us, the browser's HTTP cache may keep files). One VAE and one
 * pipeline at a time: a different URL, backend or weight dtype frees the old one and loads again.
 */
import * as C from '@sdxs/core';
import { SdxsPipeline, type PipelineProgress } from '@sdxs/pipeline';
import { AsymmetricAutoencoderKL } from '@sdxs/vae';

export type WeightDtype = 'float32' | 'float16';

export interface LoadProgress {
  /** tensors loaded / total of the part being loaded */
  loaded: number;
  total: number;
  part: string;
}

interface Held<T> {
  key: string;
  value: Promise<T>;
}

let vae: Held<AsymmetricAutoencoderKL> | null = null;
let pipeline: Held<SdxsPipeline> | null = null;
/** where the pipeline's progress goes now (set per generation) */
let pipelineListener: ((p: PipelineProgress) => void) | undefined;

const keyOf = (url: string, dtype: WeightDtype): string => `${C.getBackend()}|${dtype}|${url}`;

async function release<T extends { dispose(): void }>(held: Held<T> | null): Promise<void> {
  if (held) (await held.value.catch(() => null))?.dispose();
}

/** The VAE of `<modelUrl>/vae`. */
export async function getVae(modelUrl: string, dtype: WeightDtype, onLoad?: (p: LoadProgress) => void): Promise<AsymmetricAutoencoderKL> {
  const key = keyOf(modelUrl, dtype);
  if (vae?.key !== key) {
    await release(vae);
    const value = AsymmetricAutoencoderKL.fromPretrained(modelUrl, {
      subfolder: 'vae',
      dtype,
      onProgress: (p) => onLoad?.({ loaded: p.loaded, total: p.total, part: 'vae' }),
    });
    vae = { key, value };
    value.catch(() => {
      if (vae?.value === value) vae = null;
    });
  }
  return vae.value;
}

/** The text-to-image pipeline of `modelUrl` (parts load on first use; the text encoder stays loaded so a second run fetches nothing). */
export async function getPipeline(modelUrl: string, dtype: WeightDtype): Promise<SdxsPipeline> {
  const key = keyOf(modelUrl, dtype);
  if (pipeline?.key !== key) {
    await release(pipeline);
    const value = SdxsPipeline.fromPretrained(modelUrl, { dtype, releaseTextEncoder: false, onProgress: (p) => pipelineListener?.(p) });
    pipeline = { key, value };
    value.catch(() => {
      if (pipeline?.value === value) pipeline = null;
    });
  }
  return pipeline.value;
}

/** Route the pipeline's progress (loading included) to `listener` while `run` runs. */
export async function withPipelineProgress<T>(listener: (p: PipelineProgress) => void, run: () => Promise<T>): Promise<T> {
  pipelineListener = listener;
  try {
    return await run();
  } finally {
    pipelineListener = undefined;
  }
}

/** Free every model (e.g. before switching backends). */
export async function releaseAll(): Promise<void> {
  await Promise.all([release(vae), release(pipeline)]);
  vae = null;
  pipeline = null;
}
