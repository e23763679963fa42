/**
 * The benchmark cases shared by compare.ts (side by side with PyTorch) and ort-profile.ts (where the time goes):
 * real configs, seeded random 16-bit weights, the inputs of PyTorch's benchmarks/pytorch/bench.py.
 */
import type { Tensor } from '../packages/core/src/index.js';
import { tiledRandomHalf } from './random-weights.js';

export const CASES = {
  'vae-decode': { title: 'VAE decode 32² latent → 512² (real config)', pytorch: 'vae-decode-32-512' },
  'unet-step': { title: 'UNet step, 32² latent, batch 2, 249 tokens (real config)', pytorch: 'unet-step-32-b2' },
  'unet-step-64': { title: 'UNet step, 64² latent (a 1024² image), batch 2, 249 tokens (real config)', pytorch: 'unet-step-64-b2' },
  'qwen-encode': { title: 'Qwen3.5-2B encode, 248 tokens (hidden_states[-2])', pytorch: 'qwen-encode-248' },
} as const;
export type CaseName = keyof typeof CASES;

export interface CaseSetup {
  run: () => Tensor;
  /** the same model at another input size (the UNet at a 24² latent): run first, it makes the case's first call one at a new size */
  otherSize?: () => Tensor;
  dispose: () => void;
}

export async function setupCase(name: CaseName): Promise<CaseSetup> {
  const C = await import('../packages/core/src/index.js');
  if (name === 'vae-decode') {
    const { AsymmetricAutoencoderKL } = await import('../packages/vae/src/index.js');
    const { VAE_REAL_CONFIG } = await import('./vae.bench.js');
    const vae = new AsymmetricAutoencoderKL(VAE_REAL_CONFIG);
    tiledRandomHalf(vae, 1234);
    const z = C.randomNormal([1, 32, 32, 32], { seed: 2 });
    return { run: () => vae.decode(z), dispose: () => (z.dispose(), vae.dispose()) };
  }
  if (name === 'unet-step' || name === 'unet-step-64') {
    const { UNet2DConditionModel } = await import('../packages/unet/src/index.js');
    const { REAL_CONFIG } = await import('./unet.bench.js');
    const unet = UNet2DConditionModel.fromConfig(REAL_CONFIG);
    tiledRandomHalf(unet, 1234);
    const side = name === 'unet-step' ? 32 : 64;
    const x = C.randomNormal([2, 32, side, side], { seed: 1 });
    const ctx = C.randomNormal([2, 249, 2048], { seed: 2 });
    const mask = C.tensor(Float32Array.from({ length: 2 * 249 }, (_, i) => (i % 249 < 200 ? 1 : 0)), [2, 249]);
    const other = (): Tensor => C.tidy(() => unet.forward(C.randomNormal([2, 32, 24, 24], { seed: 3 }), 500, ctx, mask));
    return { run: () => unet.forward(x, 500, ctx, mask), otherSize: other, dispose: () => (C.dispose([x, ctx, mask]), unet.dispose()) };
  }
  const { Qwen35TextModel, parseQwen35Config } = await import('../packages/text-qwen/src/index.js');
  const { QWEN35_2B } = await import('./qwen-config.js');
  const model = new Qwen35TextModel(parseQwen35Config(QWEN35_2B));
  tiledRandomHalf(model, 1234);
  const ids = [Array.from({ length: 248 }, (_, i) => (i * 7919) % 248000)];
  return { run: () => model.penultimateHiddenState(ids), dispose: () => model.dispose() };
}
