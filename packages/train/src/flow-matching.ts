import * as C from '@sdxs/core';
import { sampleSigma, type TimestepSampling } from './timesteps.js';

/** What the trainer needs from the UNet (UNet2DConditionModel fits). */
export interface TrainableDenoiser extends C.Module {
  forward(sample: C.Tensor, timestep: number | C.Tensor, encoderHiddenStates: C.Tensor, encoderAttentionMask?: C.Tensor | null): C.Tensor;
  gradientCheckpointing?: boolean;
}

/** One micro-batch in UNet space. */
export interface TrainBatch {
  /** x0: [B, C, h, w] latents (normalised, UNet space). */
  latents: C.Tensor;
  /** [B, S, D] text conditioning and its [B, S] mask. */
  cond: C.Tensor;
  mask?: C.Tensor | null;
}

/** The empty prompt's conditioning: [1, S, D] and [1, S]. */
export interface Uncond {
  cond: C.Tensor;
  mask?: C.Tensor | null;
}

export interface FlowMatchingOptions {
  timesteps?: TimestepSampling;
  /** Probability that a sample's conditioning is replaced by the empty prompt's (default 0.1). */
  condDropout?: number;
}

/** The random draws of one micro-batch (all from the host generator, in a fixed order). */
export interface FlowDraws {
  sigmas: Float32Array;
  drop: boolean[];
  noise: C.Tensor;
}

/** Draws sigmas, dropout decisions, then the noise, in that order, from `rng`. */
export function drawFlow(rng: C.RandomGenerator, shape: readonly number[], o: FlowMatchingOptions): FlowDraws {
  const b = shape[0]!;
  const sigmas = new Float32Array(b);
  for (let i = 0; i < b; i++) sigmas[i] = sampleSigma(rng, o.timesteps);
  const p = o.condDropout ?? 0.1;
  const drop = Array.from({ length: b }, () => rng.uniform() < p);
  const noise = C.randomNormal(shape, { generator: rng });
  return { sigmas, drop, noise };
}

/**
 * The flow-matching loss of one micro-batch: x_t = (1 - s) x0 + s noise, the UNet at timestep s * 1000
 * predicts v, loss = mean((v - (noise - x0))^2). Conditioning of dropped samples is the empty prompt's.
 */
export function flowMatchingLoss(model: TrainableDenoiser, batch: TrainBatch, d: FlowDraws, uncond: Uncond | null): C.Tensor {
  return C.tidy(() => {
    const x0 = batch.latents;
    const b = x0.shape[0]!;
    const s = C.tensor(d.sigmas, [b, 1, 1, 1]);
    const xt = C.add(C.mul(C.sub(1, s), x0), C.mul(s, d.noise));
    const target = C.sub(d.noise, x0);
    let cond = batch.cond;
    let mask = batch.mask ?? null;
    if (d.drop.some(Boolean)) {
      if (!uncond) throw new C.InputError('conditioning dropout needs the empty prompt conditioning (uncond)');
      const keep = C.tensor(d.drop.map((x) => (x ? 0 : 1)), [b, 1, 1]);
      const uc = C.broadcastTo(uncond.cond, cond.shape);
      cond = C.add(C.mul(cond, keep), C.mul(uc, C.sub(1, keep)));
      if (mask || uncond.mask) {
        const m = mask ?? C.ones([b, cond.shape[1]!]);
        const um = uncond.mask ? C.broadcastTo(uncond.mask, [b, cond.shape[1]!]) : C.ones([b, cond.shape[1]!]);
        const k2 = C.reshape(keep, [b, 1]);
        mask = C.add(C.mul(m, k2), C.mul(um, C.sub(1, k2)));
      }
    }
    const timesteps = C.tensor(Array.from(d.sigmas, (x) => x * 1000), [b]);
    const v = model.forward(xt, timesteps, cond, mask);
    return C.mean(C.square(C.sub(v, target)));
  });
}
