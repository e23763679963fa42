/**
 * What the device run measures, and at which sizes: the real configs on the GPU machine, the same stages at tiny
 * sizes in the dry run (SwiftShader, CPU PyTorch if any). Each stage has a time cap; the driver skips a stage, and
 * records why, when the run's budget cannot hold it.
 */
import * as C from '@sdxs/core';
import { QWEN35_2B } from '../qwen-config.js';
import { QUICK_CONFIG as UNET_QUICK_CONFIG, REAL_CONFIG as UNET_REAL_CONFIG } from '../unet.bench.js';
import { VAE_QUICK_CONFIG, VAE_REAL_CONFIG } from '../vae.bench.js';

export type Mode = 'device' | 'dry-run';

export interface Caps {
  /** one parity worker (one backend and precision, every fixture case) */
  parity: number;
  unet: number;
  vae: number;
  generate: number;
  torchUnet: number;
  torchVae: number;
  torchGenerate: number;
  /** writing the model folder for `sdxs generate` (runs beside the first stages) */
  makeModel: number;
}

export interface Plan {
  mode: Mode;
  parityBackends: readonly string[];
  /** fixture cases to check (all when absent) */
  parityCases?: string[];
  timingBackends: readonly string[];
  computes: readonly C.ComputePrecision[];
  unet: { quick: boolean; latent: number; batch: number; tokens: number; runs: number };
  vae: { quick: boolean; latent: number; runs: number };
  generate: { realModel: boolean; width: number; height: number; steps: number; cfg: number };
  torch: { device: 'cuda' | 'cpu'; dtype: 'bf16' };
  caps: Caps;
  /** seconds kept free at the end for writing the report */
  reserveS: number;
}

/** A Qwen3.5 text config of the real layout at a tiny width (the dry run's PyTorch text encoder). */
const QWEN_QUICK = {
  ...QWEN35_2B,
  vocab_size: 1024,
  hidden_size: 64,
  intermediate_size: 128,
  num_hidden_layers: 4,
  layer_types: ['linear_attention', 'linear_attention', 'linear_attention', 'full_attention'],
  num_attention_heads: 2,
  num_key_value_heads: 1,
  head_dim: 32,
  linear_num_key_heads: 2,
  linear_num_value_heads: 2,
  linear_key_head_dim: 16,
  linear_value_head_dim: 16,
};

export function planFor(mode: Mode): Plan {
  const common = { parityBackends: ['ort-cpu', 'ort-webgpu', 'ort-cuda'], timingBackends: ['ort-webgpu', 'ort-cuda'], computes: ['float16', 'float32'] as const };
  if (mode === 'device') {
    return {
      mode,
      ...common,
      unet: { quick: false, latent: 64, batch: 2, tokens: 249, runs: 3 },
      vae: { quick: false, latent: 64, runs: 2 },
      generate: { realModel: true, width: 1024, height: 1024, steps: 40, cfg: 4 },
      torch: { device: 'cuda', dtype: 'bf16' },
      caps: { parity: 40, unet: 80, vae: 50, generate: 120, torchUnet: 50, torchVae: 35, torchGenerate: 75, makeModel: 240 },
      reserveS: 8,
    };
  }
  return {
    mode,
    ...common,
    // SwiftShader takes about a minute for every case: the dry run checks three kinds (VAE, UNet, Qwen)
    parityCases: ['vae-tiny', 'unet-tiny-linear', 'qwen35-tiny-tied'],
    unet: { quick: true, latent: 8, batch: 2, tokens: 8, runs: 1 },
    vae: { quick: true, latent: 4, runs: 1 },
    generate: { realModel: false, width: 64, height: 64, steps: 2, cfg: 4 },
    torch: { device: 'cpu', dtype: 'bf16' },
    caps: { parity: 50, unet: 60, vae: 45, generate: 80, torchUnet: 40, torchVae: 30, torchGenerate: 40, makeModel: 60 },
    reserveS: 3,
  };
}

/** The model configs the PyTorch side builds (the same objects the Node side uses), keys starting with '_' dropped. */
export function torchConfigs(plan: Plan): Record<'unet' | 'vae' | 'qwen', Record<string, unknown>> {
  const strip = (c: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(c).filter(([k]) => !k.startsWith('_') && k !== 'model_type'));
  return {
    unet: strip(plan.unet.quick ? UNET_QUICK_CONFIG : UNET_REAL_CONFIG),
    vae: strip(plan.vae.quick ? VAE_QUICK_CONFIG : VAE_REAL_CONFIG),
    qwen: strip(plan.generate.realModel ? QWEN35_2B : QWEN_QUICK),
  };
}
