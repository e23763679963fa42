/**
 * What the converter needs from a VAE and a text encoder, structurally (so @sdxs/data does not depend
 * on the model packages): @sdxs/vae's AsymmetricAutoencoderKL and @sdxs/text-qwen's encoder fit.
 */
import * as C from '@sdxs/core';

export interface LatentPosterior {
  readonly mean: C.Tensor;
  dispose(): void;
}

export interface VaeEncoderLike {
  /** Posterior of an NCHW image in [-1, 1]. */
  encode(image: C.Tensor): LatentPosterior;
  /** UNet latent space from raw latents; throws when the VAE config has no latents_mean/std. */
  normalizeLatents?(z: C.Tensor): C.Tensor;
}

export interface TextConditioning {
  /** [B, S, D] */
  states: C.Tensor;
  /** [B, S] of 0/1 */
  mask: C.Tensor;
}

export interface TextEncoderLike {
  encode(prompts: string[]): Promise<TextConditioning> | TextConditioning;
}

/** RGB HWC bytes → [1, 3, H, W] float in [-1, 1]. */
export function rgbToTensor(rgb: Uint8Array, width: number, height: number): C.Tensor {
  const n = width * height;
  const out = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    out[i] = rgb[3 * i]! / 127.5 - 1;
    out[n + i] = rgb[3 * i + 1]! / 127.5 - 1;
    out[2 * n + i] = rgb[3 * i + 2]! / 127.5 - 1;
  }
  return C.fromData(out, [1, 3, height, width], 'float32');
}

/** RGB HWC bytes → CHW bytes. */
export function hwcToChw(rgb: Uint8Array, width: number, height: number): Uint8Array {
  const n = width * height;
  const out = new Uint8Array(3 * n);
  for (let i = 0; i < n; i++) {
    out[i] = rgb[3 * i]!;
    out[n + i] = rgb[3 * i + 1]!;
    out[2 * n + i] = rgb[3 * i + 2]!;
  }
  return out;
}

/** The latent (posterior mean, normalised when the VAE can) of one half-size image. */
export async function encodeLatent(vae: VaeEncoderLike, rgb: Uint8Array, width: number, height: number): Promise<{ data: Float32Array; shape: number[]; normalized: boolean }> {
  const x = rgbToTensor(rgb, width, height);
  const post = vae.encode(x);
  x.dispose();
  let z = post.mean;
  let normalized = false;
  try {
    if (vae.normalizeLatents) {
      try {
        z = vae.normalizeLatents(post.mean);
        normalized = true;
      } catch (e) {
        if (!(e instanceof C.ConfigError)) throw e;
      }
    }
    const data = (await z.data()) as Float32Array;
    return { data, shape: z.shape.slice(1), normalized };
  } finally {
    if (z !== post.mean) z.dispose();
    post.dispose();
  }
}

/** One prompt's conditioning as F16 states and U8 mask. */
export async function encodeText(enc: TextEncoderLike, prompt: string): Promise<{ states: Uint16Array; mask: Uint8Array; shape: [number, number] }> {
  const { states, mask } = await enc.encode([prompt]);
  try {
    const s = (await states.data()) as Float32Array;
    const m = await mask.data();
    return { states: C.f32ToF16(s), mask: Uint8Array.from(m, (v) => (v > 0 ? 1 : 0)), shape: [states.shape[1]!, states.shape[2]!] };
  } finally {
    states.dispose();
    mask.dispose();
  }
}
