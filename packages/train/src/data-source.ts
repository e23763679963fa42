import * as C from '@sdxs/core';
import type { DatasetReader } from '@sdxs/data';
import type { TrainBatch } from './flow-matching.js';
import type { BatchSource, SourceState } from './trainer.js';

export interface ReaderSourceOptions {
  /** Encodes half-size images to UNet-space latents when the dataset stores images, not latents. */
  encodeImages?: (images: C.Tensor) => C.Tensor;
  /** Encodes captions when the dataset has no precomputed conditioning. */
  encodeCaptions?: (captions: string[]) => { states: C.Tensor; mask: C.Tensor };
}

/** Adapts the @sdxs/data reader to the trainer's BatchSource (its position is the reader's state). */
export function readerSource(reader: DatasetReader, o: ReaderSourceOptions = {}): BatchSource {
  return {
    async next(): Promise<TrainBatch & { dispose(): void }> {
      const b = await reader.next();
      try {
        let latents = b.latents;
        if (!latents) {
          if (!b.images || !o.encodeImages) throw new C.InputError('the dataset has no latents: give a VAE (model with vae/) to encode its images');
          latents = C.noGrad(() => o.encodeImages!(b.images!));
        }
        let cond = b.cond;
        let mask = b.mask;
        if (!cond) {
          if (!o.encodeCaptions) throw new C.InputError('the dataset has no text conditioning: give a text encoder or convert with --text-encoder');
          const e = C.noGrad(() => o.encodeCaptions!(b.captions));
          cond = e.states;
          mask = e.mask;
        }
        const own = [latents !== b.latents ? latents : null, cond !== b.cond ? cond : null, mask !== b.mask ? mask : null];
        return {
          latents,
          cond,
          mask,
          dispose: () => {
            b.dispose();
            C.dispose(own);
          },
        };
      } catch (e) {
        b.dispose();
        throw e;
      }
    },
    getState: (): SourceState => ({ ...reader.getState() }),
    setState: (s: SourceState): void => reader.setState({ seed: Number(s.seed), epoch: Number(s.epoch), cursor: Number(s.cursor) }),
  };
}
