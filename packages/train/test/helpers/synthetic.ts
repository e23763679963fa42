import * as C from '@sdxs/core';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BatchSource, SourceState } from '../../src/trainer.js';
import type { TrainBatch } from '../../src/flow-matching.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const FIXTURES = process.env.SDXS_FIXTURES ?? path.resolve(here, '../../../../../shared/fixtures');
export const UNET_TINY = path.join(FIXTURES, 'diffusers', 'unet-tiny');

/** A handful of random latents and conditionings, batched in a seeded order per epoch. */
export class SyntheticSource implements BatchSource {
  readonly latents: Float32Array[];
  readonly conds: Float32Array[];
  private epoch = 0;
  private cursor = 0;

  constructor(
    readonly n: number,
    readonly batchSize: number,
    readonly latentShape: [number, number, number],
    readonly condShape: [number, number],
    readonly seed = 11,
  ) {
    const rng = new C.RandomGenerator(seed);
    this.latents = Array.from({ length: n }, () => rng.fillNormal(new Float32Array(latentShape[0] * latentShape[1] * latentShape[2])));
    this.conds = Array.from({ length: n }, () => rng.fillNormal(new Float32Array(condShape[0] * condShape[1])));
  }

  private order(epoch: number): number[] {
    const rng = new C.RandomGenerator(this.seed * 7919 + epoch);
    const a = Array.from({ length: this.n }, (_, i) => i);
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(rng.uniform() * (i + 1));
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  }

  batchOf(idx: number[]): TrainBatch & { dispose(): void } {
    const b = idx.length;
    const lat = new Float32Array(b * this.latents[0]!.length);
    const cond = new Float32Array(b * this.conds[0]!.length);
    idx.forEach((k, i) => {
      lat.set(this.latents[k]!, i * this.latents[0]!.length);
      cond.set(this.conds[k]!, i * this.conds[0]!.length);
    });
    const latents = C.fromData(lat, [b, ...this.latentShape], 'float32');
    const c = C.fromData(cond, [b, ...this.condShape], 'float32');
    const mask = C.ones([b, this.condShape[0]]);
    return { latents, cond: c, mask, dispose: () => C.dispose([latents, c, mask]) };
  }

  async next(): Promise<TrainBatch & { dispose(): void }> {
    const per = Math.floor(this.n / this.batchSize);
    if (this.cursor >= per) {
      this.epoch++;
      this.cursor = 0;
    }
    const o = this.order(this.epoch);
    const idx = o.slice(this.cursor * this.batchSize, (this.cursor + 1) * this.batchSize);
    this.cursor++;
    return this.batchOf(idx);
  }

  getState(): SourceState {
    return { epoch: this.epoch, cursor: this.cursor };
  }
  setState(s: SourceState): void {
    this.epoch = Number(s.epoch);
    this.cursor = Number(s.cursor);
  }
}

export function uncondFor(condShape: [number, number]): { cond: C.Tensor; mask: C.Tensor } {
  const m = new Float32Array(condShape[0]);
  m[0] = 1;
  return { cond: C.zeros([1, ...condShape]), mask: C.fromData(m, [1, condShape[0]], 'float32') };
}
