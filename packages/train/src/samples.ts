import * as C from '@sdxs/core';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { TrainableDenoiser } from './flow-matching.js';

/** What sample images need from a VAE (AsymmetricAutoencoderKL fits). */
export interface VaeDecoderLike {
  decode(latent: C.Tensor): C.Tensor;
  denormalizeLatents?(z: C.Tensor): C.Tensor;
}

export interface SampleImagesOptions {
  vae: VaeDecoderLike;
  /** Scheduler config (scheduler_config.json object) or a folder holding it; default shift 1. */
  scheduler?: C.ConfigObject | string;
  /** [N, S, D] prompts' conditioning and [N, S] masks (e.g. dataset items'), plus the empty prompt's. */
  cond: C.Tensor;
  mask?: C.Tensor | null;
  uncond?: C.Tensor | null;
  uncondMask?: C.Tensor | null;
  /** Latent size [h, w] (default 32x32 = a 512 px image). */
  latentSize?: [number, number];
  latentChannels: number;
  steps?: number;
  guidance?: number;
  seed?: number;
  /** Whether latents are in the normalised UNet space (default true). */
  normalized?: boolean;
  outDir: string;
}

/**
 * A callback that renders one PNG per prompt with the current weights (`<outDir>/step-<n>-<i>.png`):
 * flow-matching Euler sampling with CFG (@sdxs/sampler), then the VAE decoder.
 */
export function sampleImagesCallback(o: SampleImagesOptions): (step: number, model: TrainableDenoiser) => Promise<string[]> {
  return async (step, model) => {
    const { FlowMatchEulerDiscreteScheduler, sampleFlowMatch, initNoise } = await import('@sdxs/sampler');
    const sharp = (await import('sharp')).default;
    const scheduler =
      typeof o.scheduler === 'string'
        ? await FlowMatchEulerDiscreteScheduler.fromPretrained(o.scheduler)
        : FlowMatchEulerDiscreteScheduler.fromConfig(o.scheduler ?? {});
    await mkdir(o.outDir, { recursive: true });
    const [h, w] = o.latentSize ?? [32, 32];
    const n = o.cond.shape[0]!;
    const files: string[] = [];
    const ckpt = model.gradientCheckpointing;
    model.gradientCheckpointing = false;
    try {
      for (let i = 0; i < n; i++) {
        const cond = C.sliceAxis(o.cond, 0, i, i + 1);
        const mask = o.mask ? C.sliceAxis(o.mask, 0, i, i + 1) : null;
        const noise = initNoise([1, o.latentChannels, h, w], (o.seed ?? 0) + i);
        const z = await sampleFlowMatch({
          unet: model,
          scheduler,
          initNoise: noise,
          cond,
          condMask: mask,
          uncond: o.uncond ?? null,
          uncondMask: o.uncondMask ?? null,
          steps: o.steps ?? 20,
          guidanceScale: o.uncond ? (o.guidance ?? 4) : 1,
        });
        const img = C.tidy(() => {
          const raw = o.normalized === false || !o.vae.denormalizeLatents ? z : o.vae.denormalizeLatents(z);
          return C.clamp(C.div(C.add(o.vae.decode(raw), 1), 2), 0, 1);
        });
        const [, , H, W] = img.shape as [number, number, number, number];
        const d = (await img.data()) as Float32Array;
        const rgb = Buffer.alloc(H * W * 3);
        for (let p = 0; p < H * W; p++) for (let c = 0; c < 3; c++) rgb[3 * p + c] = Math.round(d[c * H * W + p]! * 255);
        const file = path.join(o.outDir, `step-${String(step).padStart(6, '0')}-${i}.png`);
        await sharp(rgb, { raw: { width: W, height: H, channels: 3 } }).png().toFile(file);
        files.push(file);
        C.dispose([cond, mask, noise, z, img]);
      }
    } finally {
      model.gradientCheckpointing = ckpt;
    }
    return files;
  };
}
