import * as C from '../packages/core/src/index.js';
import type { Tensor } from '../packages/core/src/index.js';
import { type BenchCase, type BenchSuite, randn } from './harness.js';

const disposeAll = (ts: Tensor[]) => (): void => C.dispose(ts);

function conv3x3(cin: number, cout: number, hw: number): BenchCase {
  return {
    name: `conv2d 3x3 ${cin}->${cout} @${hw}x${hw}`,
    flops: 2 * cin * cout * 9 * hw * hw,
    setup() {
      const x = randn([1, cin, hw, hw], 1);
      const w = randn([cout, cin, 3, 3], 2, 1 / Math.sqrt(cin * 9));
      const b = randn([cout], 3);
      return { run: () => C.conv2d(x, w, b, { padding: 1 }), dispose: disposeAll([x, w, b]) };
    },
  };
}

function matmul(m: number, k: number, n: number): BenchCase {
  return {
    name: `matmul ${m}x${k}x${n}`,
    flops: 2 * m * k * n,
    setup() {
      const a = randn([m, k], 4);
      const b = randn([k, n], 5);
      return { run: () => C.matmul(a, b), dispose: disposeAll([a, b]) };
    },
  };
}

function attention(heads: number, seq: number, dim: number): BenchCase {
  return {
    name: `attention 1x${heads}x${seq}x${dim}`,
    flops: 4 * heads * seq * seq * dim,
    setup() {
      const [q, k, v] = [6, 7, 8].map((s) => randn([1, heads, seq, dim], s));
      return { run: () => C.scaledDotProductAttention(q!, k!, v!), dispose: disposeAll([q!, k!, v!]) };
    },
  };
}

function groupNormSilu(c: number, hw: number): BenchCase {
  return {
    name: `groupNorm(32)+silu [1,${c},${hw},${hw}]`,
    setup() {
      const x = randn([1, c, hw, hw], 9);
      const w = randn([c], 10);
      const b = randn([c], 11);
      return { run: () => C.tidy(() => C.silu(C.groupNorm(x, 32, w, b, 1e-6))), dispose: disposeAll([x, w, b]) };
    },
  };
}

/** The core ops at SDXS's real sizes: UNet/VAE convs, the 64x64-latent self-attention, a large linear. */
export const suite: BenchSuite = {
  name: 'core',
  cases({ quick, backend }) {
    if (quick) return [conv3x3(8, 8, 16), matmul(64, 32, 32), attention(2, 64, 16), groupNormSilu(64, 8)];
    if (backend === 'tfjs-webgpu' && process.env.SDXS_BENCH_WEBGPU_FULL !== '1') {
      // On SwiftShader (no GPU) one full-size conv takes ~150 s: run 1/4 to 1/16 of the work (named in the case).
      // SDXS_BENCH_WEBGPU_FULL=1 runs the real sizes (for a machine with a GPU).
      return [conv3x3(128, 128, 64), conv3x3(512, 512, 16), matmul(1024, 2048, 2048), attention(10, 1024, 64), groupNormSilu(512, 64)];
    }
    return [conv3x3(128, 128, 256), conv3x3(512, 512, 64), matmul(4096, 2048, 2048), attention(10, 4096, 64), groupNormSilu(512, 64)];
  },
};
