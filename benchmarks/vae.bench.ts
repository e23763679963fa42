/**
 * The SDXS VAE (AsymmetricAutoencoderKL) at its believed config (shared/SPEC.md) with seeded random
 * weights: encode of a 256² and a 512² image, decode of their latents (32² → 512², 64² → 1024²), and
 * the whole 2x upscale of 256² → 512² (untiled).
 *
 *   npm run bench -- --suites vae --backends cpu,tfjs-wasm          (through the shared harness)
 *   node --conditions=sdxs-source --import tsx benchmarks/vae.bench.ts [--backend tfjs-wasm] [--quick]
 *     (standalone: also prints the process's peak resident memory, VmHWM, per case in a fresh process)
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as C from '../packages/core/src/index.js';
import { AsymmetricAutoencoderKL, randomizeWeights } from '../packages/vae/src/index.js';
import type { BenchCase, BenchSuite } from './harness.js';

export const VAE_REAL_CONFIG: C.ConfigObject = {
  _class_name: 'AsymmetricAutoencoderKL',
  in_channels: 3,
  out_channels: 3,
  down_block_types: Array(4).fill('DownEncoderBlock2D'),
  down_block_out_channels: [128, 256, 512, 512],
  layers_per_down_block: 2,
  up_block_types: Array(5).fill('UpDecoderBlock2D'),
  up_block_out_channels: [128, 128, 256, 512, 512],
  layers_per_up_block: 2,
  act_fn: 'silu',
  latent_channels: 32,
  norm_num_groups: 32,
  sample_size: 1024,
  scaling_factor: 1.0,
};

/** The real config's structure at a small width (`--quick`, and the device run's dry run). */
export const VAE_QUICK_CONFIG: C.ConfigObject = { ...VAE_REAL_CONFIG, down_block_out_channels: [32, 32, 64, 64], up_block_out_channels: [32, 32, 32, 64, 64], norm_num_groups: 8 };

let cached: { quick: boolean; vae: AsymmetricAutoencoderKL } | null = null;
/** The model with seeded float32 weights (kept across backends: host-side weights move with each use). */
export function vaeBenchModel(quick: boolean): AsymmetricAutoencoderKL {
  if (cached?.quick === quick) return cached.vae;
  cached?.vae.dispose();
  const vae = new AsymmetricAutoencoderKL(quick ? VAE_QUICK_CONFIG : VAE_REAL_CONFIG);
  randomizeWeights(vae, { seed: 1234 });
  console.error(`[bench] vae: ${(vae.numParameters() / 1e6).toFixed(1)} M parameters`);
  cached = { quick, vae };
  return vae;
}

function encodeCase(size: number, quick: boolean): BenchCase {
  return {
    name: `VAE encode ${size}x${size} → ${size / 8}x${size / 8} latent${quick ? ' (quick config)' : ''}`,
    setup() {
      const vae = vaeBenchModel(quick);
      const x = C.randomUniform([1, 3, size, size], { seed: 1, low: -1, high: 1 });
      return {
        run: () => {
          const p = vae.encode(x);
          p.logvar.dispose();
          return p.mean;
        },
        dispose: () => x.dispose(),
      };
    },
  };
}

function decodeCase(latent: number, quick: boolean): BenchCase {
  return {
    name: `VAE decode ${latent}x${latent} latent → ${latent * 16}x${latent * 16}${quick ? ' (quick config)' : ''}`,
    setup() {
      const vae = vaeBenchModel(quick);
      const z = C.randomNormal([1, 32, latent, latent], { seed: 2 });
      return { run: () => vae.decode(z), dispose: () => z.dispose() };
    },
  };
}

export const suite: BenchSuite = {
  name: 'vae',
  cases: ({ quick }) => {
    const sizes = quick ? [64, 128] : [256, 512];
    return sizes.flatMap((s) => [encodeCase(s, quick), decodeCase(s / 8, quick)]);
  },
};

/** Peak resident set of this process (Linux VmHWM), MiB. */
export function peakRssMiB(): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : null;
  } catch {
    return null;
  }
}

// Standalone: each case in a fresh child process so that its peak memory is its own.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const arg = (n: string): string | undefined => (process.argv.includes(`--${n}`) ? process.argv[process.argv.indexOf(`--${n}`) + 1] : undefined);
  const quick = process.argv.includes('--quick');
  const backend = arg('backend') ?? 'cpu';
  const only = arg('case');
  if (only !== undefined) {
    await C.setBackend(backend);
    const c = suite.cases({ quick, backend })[Number(only)]!;
    const { run, dispose } = c.setup();
    const base = peakRssMiB();
    const t0 = performance.now();
    const y = run();
    await y.data();
    const ms = performance.now() - t0;
    y.dispose();
    dispose();
    console.log(JSON.stringify({ case: c.name, backend, ms: Math.round(ms), peakRssMiB: peakRssMiB(), afterWeightsMiB: base }));
    process.exit(0);
  }
  console.log(`| case | backend | ms (one run, incl. warm-up) | peak RSS MiB (process) | RSS after weights MiB |\n|---|---|---:|---:|---:|`);
  const n = suite.cases({ quick, backend }).length;
  for (let i = 0; i < n; i++) {
    const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--case', String(i), '--backend', backend, ...(quick ? ['--quick'] : [])], { encoding: 'utf8' });
    const line = r.stdout.trim().split('\n').pop() ?? '';
    try {
      const j = JSON.parse(line) as { case: string; ms: number; peakRssMiB: number; afterWeightsMiB: number };
      console.log(`| ${j.case} | ${backend} | ${j.ms} | ${j.peakRssMiB} | ${j.afterWeightsMiB} |`);
    } catch {
      console.log(`| case ${i} | ${backend} | failed: ${(r.stderr || line).trim().split('\n').slice(-2).join(' ')} | | |`);
    }
  }
}
