/** The denoising loop: classifier-free guidance in batch order [uncond, cond], progress, cancellation, img2img. */
import * as C from '@sdxs/core';
import type { FlowScheduler, SetTimestepsOptions } from './flow-match-euler.js';

/** Anything with the UNet's forward signature (`@sdxs/unet`'s UNet2DConditionModel fits). */
export interface Denoiser {
  forward(sample: C.Tensor, timestep: number | C.Tensor, encoderHiddenStates: C.Tensor, encoderAttentionMask?: C.Tensor | null): C.Tensor | Promise<C.Tensor>;
}

export interface StepInfo {
  /** 1-based index of the model evaluation just done */
  step: number;
  /** number of model evaluations in this run */
  total: number;
  timestep: number;
  /** the latents after this step; valid only during the callback (do not dispose) */
  latents: C.Tensor;
}

export interface SampleFlowMatchOptions {
  unet: Denoiser;
  scheduler: FlowScheduler;
  /** `[B, C, H, W]` standard normal noise (see `initNoise`) */
  initNoise: C.Tensor;
  /** text states `[B or 1, S, D]` */
  cond: C.Tensor;
  /** `[B or 1, S]`, 1 = keep; omitted: all tokens */
  condMask?: C.Tensor | null;
  /** negative / empty-prompt states `[B or 1, S', D]`; needed when guidanceScale > 1 */
  uncond?: C.Tensor | null;
  uncondMask?: C.Tensor | null;
  steps: number;
  /** CFG scale g: v = v_u + g (v_c − v_u); ≤ 1 runs the conditional branch only */
  guidanceScale: number;
  /** called after every model evaluation; may be async (awaited) */
  onStep?: (info: StepInfo) => void | Promise<void>;
  /** aborting stops before the next model evaluation with an AbortError (nothing leaks) */
  signal?: AbortSignal;
  /** img2img: the start image's latents in UNet space `[B or 1, C, H, W]` */
  image?: C.Tensor | null;
  /** img2img strength in (0, 1]: 1 starts from pure noise, smaller keeps more of the image */
  strength?: number;
  /** forwarded to `scheduler.setTimesteps` (mu for dynamic shifting, custom sigmas) */
  schedule?: SetTimestepsOptions;
  /** noise for `stochastic_sampling` schedulers */
  generator?: C.RandomGenerator;
}

const yieldToEventLoop = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

/** Repeat a batch-1 tensor to `b` rows (or check it already has `b`). */
function toBatch(t: C.Tensor, b: number, what: string): C.Tensor {
  if (t.shape[0] === b) return C.add(t, 0);
  if (t.shape[0] === 1) return C.concat(new Array<C.Tensor>(b).fill(t), 0);
  throw new C.ShapeError(`${what} has batch ${t.shape[0]} but the latents have batch ${b} (use ${b} or 1)`);
}

/** Text states and mask padded with masked zeros to `len` tokens. */
function padTokens(states: C.Tensor, mask: C.Tensor | null, len: number): [C.Tensor, C.Tensor] {
  const [b, s] = states.shape as [number, number, number];
  const m = mask ? C.cast(mask, 'float32') : C.ones([b, s]);
  if (s === len) return [states, m];
  return [C.pad(states, [[0, 0], [0, len - s], [0, 0]]), C.pad(m, [[0, 0], [0, len - s]])];
}

/** img2img start index, as diffusers' `get_timesteps`: skip the first (1 − strength)·steps steps. */
export function img2imgStart(steps: number, strength: number): number {
  if (!(strength > 0 && strength <= 1)) throw new C.InputError(`strength must be in (0, 1], got ${strength}`);
  const init = Math.min(steps * strength, steps);
  return Math.trunc(Math.max(steps - init, 0));
}

/**
 * Runs the flow-matching sampler and returns the final latents (UNet space, `[B, C, H, W]`).
 * With guidance the UNet sees the batch `[uncond…, cond…]` and v = v_u + g·(v_c − v_u).
 */
export async function sampleFlowMatch(o: SampleFlowMatchOptions): Promise<C.Tensor> {
  const { unet, scheduler, initNoise } = o;
  if (initNoise.rank !== 4) throw new C.ShapeError(`initNoise must be [B, C, H, W], got ${C.fmtShape(initNoise.shape)}`);
  const b = initNoise.shape[0]!;
  const cfg = o.guidanceScale > 1;
  if (cfg && !o.uncond) throw new C.InputError(`guidanceScale ${o.guidanceScale} > 1 needs 'uncond' text states (a negative or empty prompt)`);
  C.throwIfAborted(o.signal);

  scheduler.setTimesteps(o.steps, o.schedule);
  let timesteps = scheduler.timesteps;
  const owned: C.Tensor[] = [];
  let latents: C.Tensor | null = null;
  try {
    // conditioning, built once: [uncond, cond] along the batch
    const [ctx, mask] = C.tidy(() => {
      const cond = toBatch(o.cond, b, 'cond');
      const condMask = o.condMask ? toBatch(o.condMask, b, 'condMask') : null;
      if (!cfg) return [cond, condMask] as const;
      const uncond = toBatch(o.uncond!, b, 'uncond');
      const uncondMask = o.uncondMask ? toBatch(o.uncondMask, b, 'uncondMask') : null;
      if (!condMask && !uncondMask && uncond.shape[1] === cond.shape[1]) return [C.concat([uncond, cond], 0), null] as const;
      const len = Math.max(uncond.shape[1]!, cond.shape[1]!);
      const [u, um] = padTokens(uncond, uncondMask, len);
      const [c, cm] = padTokens(cond, condMask, len);
      return [C.concat([u, c], 0), C.concat([um, cm], 0)] as const;
    });
    owned.push(ctx);
    if (mask) owned.push(mask);

    if (o.image) {
      const start = img2imgStart(o.steps, o.strength ?? 1) * scheduler.order;
      timesteps = timesteps.subarray(start);
      if (timesteps.length === 0) throw new C.InputError(`strength ${o.strength} with ${o.steps} steps leaves no step to run`);
      scheduler.setBeginIndex(start);
      const image = C.tidy(() => toBatch(o.image!, b, 'image'));
      latents = scheduler.scaleNoise(image, timesteps[0]!, initNoise);
      image.dispose();
    } else {
      latents = C.tidy(() => C.add(initNoise, 0));
    }

    for (let i = 0; i < timesteps.length; i++) {
      await yieldToEventLoop();
      C.throwIfAborted(o.signal);
      const t = timesteps[i]!;
      const input = cfg ? C.concat([latents, latents], 0) : latents;
      let v: C.Tensor;
      try {
        v = await unet.forward(input, t, ctx, mask);
      } finally {
        if (input !== latents) input.dispose();
      }
      if (cfg) {
        const guided = C.tidy(() => {
          const [vu, vc] = C.split(v, 2, 0) as [C.Tensor, C.Tensor];
          return C.add(vu, C.mul(C.sub(vc, vu), o.guidanceScale));
        });
        v.dispose();
        v = guided;
      }
      const next = scheduler.step(v, t, latents, { generator: o.generator });
      v.dispose();
      latents.dispose();
      latents = next;
      // graph backends (ort-*) run the step now, so that progress and cancellation follow the work
      await C.realize(latents);
      if (o.onStep) await o.onStep({ step: i + 1, total: timesteps.length, timestep: t, latents });
    }
    const out = latents;
    latents = null;
    return out;
  } finally {
    latents?.dispose();
    C.dispose(owned);
  }
}

/**
 * Standard normal initial noise `[B, C, H, W]`. With `seeds` (one per batch item) each item equals the
 * batch-1 noise of its seed, so a batch reproduces single runs.
 */
export function initNoise(shape: readonly [number, number, number, number], seed: number | readonly number[]): C.Tensor {
  const [b, c, h, w] = shape;
  const seeds = typeof seed === 'number' ? null : seed;
  if (seeds && seeds.length !== b) throw new C.InputError(`${seeds.length} seeds for a batch of ${b}`);
  if (!seeds) return C.randomNormal([b, c, h, w], { seed: seed as number });
  return C.tidy(() => C.concat(seeds.map((s) => C.randomNormal([1, c, h, w], { seed: s })), 0));
}
