/**
 * One UNet step at SDXS-1B's believed config (shared/SPEC.md): 64x64 latent (1024x1024 output), batch 2
 * (CFG), 128 text tokens of width 2048. Weights are seeded random values kept in float16 storage (3.4 GB
 * instead of 6.8 GB) and converted to float32 layer by layer. Unknown config values are assumed:
 * attention_head_dim [5, 10, 20, 24] (64-wide heads) and use_linear_projection true.
 *
 *   npm run bench -- --suites unet --backends tfjs-wasm            (through the shared harness)
 *   node --conditions=sdxs-source --import tsx benchmarks/unet.bench.ts --backend cpu [--quick] [--blocks]   (standalone; --blocks times each top-level block)
 */
import { fileURLToPath } from 'node:url';
import * as C from '../packages/core/src/index.js';
import { randomizeWeights, timestepEmbedding, UNet2DConditionModel } from '../packages/unet/src/index.js';
import type { BenchCase, BenchSuite } from './harness.js';
import { tiledRandomHalf } from './random-weights.js';

export const REAL_CONFIG: C.ConfigObject = {
  _class_name: 'UNet2DConditionModel',
  in_channels: 32,
  out_channels: 32,
  block_out_channels: [320, 640, 1280, 1536],
  layers_per_block: [4, 3, 2, 2],
  transformer_layers_per_block: [2, 2, 3, 4],
  down_block_types: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'],
  up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
  mid_block_type: 'UNetMidBlock2DCrossAttn',
  cross_attention_dim: 2048,
  attention_head_dim: [5, 10, 20, 24],
  use_linear_projection: true,
  norm_num_groups: 32,
  norm_eps: 1e-5,
  flip_sin_to_cos: true,
  freq_shift: 0,
};

/** The real config's structure at a small width: the same blocks, heads of 2, 64-wide conditioning. */
export const QUICK_CONFIG: C.ConfigObject = {
  ...REAL_CONFIG,
  block_out_channels: [32, 64, 64, 64],
  layers_per_block: [1, 1, 1, 1],
  transformer_layers_per_block: [1, 1, 1, 1],
  attention_head_dim: [2, 2, 2, 2],
  cross_attention_dim: 64,
};

export interface UNetBenchSetup {
  unet: UNet2DConditionModel;
  config: C.ConfigObject;
  latent: number;
  batch: number;
  tokens: number;
}


let cached: { quick: boolean; setup: UNetBenchSetup } | null = null;

/** The model with seeded float16 weights (host storage, shared by every backend) and the input sizes. */
export function unetBenchSetup(quick: boolean): UNetBenchSetup {
  if (cached?.quick === quick) return cached.setup;
  const config = quick ? QUICK_CONFIG : REAL_CONFIG;
  const unet = UNet2DConditionModel.fromConfig(config);
  const t0 = performance.now();
  if (quick) randomizeWeights(unet, { seed: 1234, dtype: 'float16' });
  else tiledRandomHalf(unet, 1234);
  console.error(`[bench] unet: ${(unet.numParameters() / 1e9).toFixed(3)} B parameters, ${(unet.residentBytes / 2 ** 30).toFixed(2)} GiB float16, random init ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  cached = { quick, setup: { unet, config, latent: quick ? 16 : 64, batch: 2, tokens: quick ? 16 : 128 } };
  return cached.setup;
}

function inputs(s: UNetBenchSetup): [C.Tensor, C.Tensor, C.Tensor] {
  const ctxDim = s.config.cross_attention_dim as number;
  return [
    C.randomNormal([s.batch, 32, s.latent, s.latent], { seed: 1 }),
    C.randomNormal([s.batch, s.tokens, ctxDim], { seed: 2 }),
    C.ones([s.batch, s.tokens]),
  ];
}

function unetStep(quick: boolean): BenchCase {
  return {
    name: quick ? 'UNet step (quick config) 16x16 latent, batch 2' : 'UNet step (SDXS-1B, fp16 storage) 64x64 latent, batch 2',
    setup() {
      const s = unetBenchSetup(quick);
      const [x, ctx, mask] = inputs(s);
      return { run: () => s.unet.forward(x, 500, ctx, mask), dispose: () => C.dispose([x, ctx, mask]) };
    },
  };
}

export const suite: BenchSuite = {
  name: 'unet',
  cases({ quick }) {
    return [unetStep(quick)];
  },
};

/** Standalone: time one step (or each top-level block) on one backend, with peak RSS and peak tensor bytes. */
async function standalone(): Promise<void> {
  const arg = (n: string): string | undefined => {
    const i = process.argv.indexOf(`--${n}`);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const backend = arg('backend') ?? 'cpu';
  const quick = process.argv.includes('--quick');
  await C.setBackend(backend);
  const s = unetBenchSetup(quick);
  const [x, ctx, mask] = inputs(s);
  let peakRss = process.memoryUsage().rss;
  let peakTensorBytes = C.memory().numBytes;
  const sample = (): void => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    peakTensorBytes = Math.max(peakTensorBytes, C.memory().numBytes);
  };
  const timer = setInterval(sample, 50);
  const u = s.unet;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  if (process.argv.includes('--blocks')) {
    // same math as forward, block by block, each timed and settled
    const times: [string, number][] = [];
    const cpu: [string, number][] = [];
    const timed = async <T>(name: string, fn: () => T): Promise<T> => {
      const a = performance.now();
      const c0 = process.cpuUsage();
      const r = fn();
      const first = Array.isArray(r) ? (r as C.Tensor[])[0]! : (r as unknown as { hidden?: C.Tensor }).hidden ?? (r as unknown as C.Tensor);
      await first.data();
      const c = process.cpuUsage(c0);
      times.push([name, performance.now() - a]);
      cpu.push([name, (c.user + c.system) / 1e6]);
      sample();
      console.error(`[bench]   ${name}: wall ${(times[times.length - 1]![1] / 1000).toFixed(2)} s, cpu ${cpu[cpu.length - 1]![1].toFixed(2)} s, peak RSS ${Math.round(peakRss / 2 ** 20)} MiB`);
      return r;
    };
    const ch0 = (s.config.block_out_channels as number[])[0]!;
    const temb = await timed('time_embedding', () => C.tidy(() => u.time_embedding.forward(timestepEmbedding(C.full([s.batch], 500), ch0, true, 0))));
    const bias = C.reshape(C.mul(C.sub(1, mask), -10000), [s.batch, 1, 1, s.tokens]);
    const inp = { temb, context: ctx, contextBias: bias };
    let h = await timed('conv_in', () => u.conv_in.forward(x));
    const skips: C.Tensor[] = [h];
    for (let i = 0; i < u.down_blocks.length; i++) {
      const r = await timed(`down_blocks.${i}`, () => u.down_blocks.at(i).forward(h, inp));
      h = r.hidden;
      skips.push(...r.states);
    }
    if (u.mid_block) h = await timed('mid_block', () => u.mid_block!.forward(h, inp));
    for (let i = 0; i < u.up_blocks.length; i++) {
      const block = u.up_blocks.at(i);
      const mine = skips.splice(skips.length - block.resnets.length, block.resnets.length);
      const next = skips[skips.length - 1];
      const size: [number, number] | undefined = block.upsamplers && next ? [next.shape[2]!, next.shape[3]!] : undefined;
      const prev = h;
      h = await timed(`up_blocks.${i}`, () => block.forward(prev, mine, inp, size));
    }
    await timed('conv_out', () => u.conv_out.forward(C.tidy(() => C.silu(u.conv_norm_out.forward(h)))));
    console.log(JSON.stringify({ backend, quick, wallSeconds: Object.fromEntries(times.map(([k, v]) => [k, Math.round(v) / 1000])), cpuSeconds: Object.fromEntries(cpu.map(([k, v]) => [k, Math.round(v * 1000) / 1000])) }));
  } else {
    const y = u.forward(x, 500, ctx, mask);
    await y.data();
    y.dispose();
  }
  clearInterval(timer);
  sample();
  const ms = performance.now() - t0;
  const cpuUsed = process.cpuUsage(cpu0);
  console.log(
    JSON.stringify({
      backend,
      quick,
      seconds: Math.round(ms) / 1000,
      cpuSeconds: Math.round((cpuUsed.user + cpuUsed.system) / 1000) / 1000,
      peakRssMiB: Math.round(peakRss / 2 ** 20),
      peakTensorMiB: Math.round(peakTensorBytes / 2 ** 20),
      weightsMiB: Math.round(u.residentBytes / 2 ** 20),
    }),
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await standalone();
  process.exit(0);
}
