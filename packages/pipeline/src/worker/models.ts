/**
 * The models a worker holds, loaded from a model folder URL: one VAE and one pipeline at a time. A different
 * URL, backend or weight dtype frees the old one and loads again; the text encoder stays loaded, so a
 * second prompt fetches nothing.
 */
import * as C from '@sdxs/core';
import { AsymmetricAutoencoderKL } from '@sdxs/vae';
import type { PipelineProgress } from '../options.js';
import { SdxsPipeline } from '../pipeline.js';
import type { WeightDtype } from './protocol.js';

interface Held<T> {
  key: string;
  value: Promise<T>;
}

async function release<T extends { dispose(): void }>(held: Held<T> | null): Promise<void> {
  if (held) (await held.value.catch(() => null))?.dispose();
}

export class ModelCache {
  private vae: Held<AsymmetricAutoencoderKL> | null = null;
  private pipeline: Held<SdxsPipeline> | null = null;
  /** where the pipeline's progress goes now (set per generation) */
  private pipelineListener: ((p: PipelineProgress) => void) | undefined;

  private keyOf(url: string, dtype: WeightDtype): string {
    return `${C.getBackend()}|${dtype}|${url}`;
  }

  /** The VAE of `<modelUrl>/vae`. */
  async getVae(modelUrl: string, dtype: WeightDtype, onLoad?: (p: { loaded: number; total: number }) => void): Promise<AsymmetricAutoencoderKL> {
    const key = this.keyOf(modelUrl, dtype);
    if (this.vae?.key !== key) {
      await release(this.vae);
      const value = AsymmetricAutoencoderKL.fromPretrained(modelUrl, { subfolder: 'vae', dtype, onProgress: (p) => onLoad?.(p) });
      const held = { key, value };
      this.vae = held;
      value.catch(() => {
        if (this.vae === held) this.vae = null;
      });
    }
    return this.vae.value;
  }

  /** The text-to-image pipeline of `modelUrl` (parts load on first use). */
  async getPipeline(modelUrl: string, dtype: WeightDtype): Promise<SdxsPipeline> {
    const key = this.keyOf(modelUrl, dtype);
    if (this.pipeline?.key !== key) {
      await release(this.pipeline);
      const value = SdxsPipeline.fromPretrained(modelUrl, { dtype, releaseTextEncoder: false, onProgress: (p) => this.pipelineListener?.(p) });
      const held = { key, value };
      this.pipeline = held;
      value.catch(() => {
        if (this.pipeline === held) this.pipeline = null;
      });
    }
    return this.pipeline.value;
  }

  /** Route the pipeline's progress (loading included) to `listener` while `run` runs. */
  async withPipelineProgress<T>(listener: (p: PipelineProgress) => void, run: () => Promise<T>): Promise<T> {
    this.pipelineListener = listener;
    try {
      return await run();
    } finally {
      this.pipelineListener = undefined;
    }
  }

  /** Free every model (e.g. before switching backends). */
  async releaseAll(): Promise<void> {
    const { vae, pipeline } = this;
    this.vae = null;
    this.pipeline = null;
    await Promise.all([release(vae), release(pipeline)]);
  }
}
