/**
 * Peak memory of a 2048x2048 → 4096x4096 upscale with the real VAE config (random weights) and the
 * default tiles. Not part of CI (it takes long on a CPU). Logs after every tile: tiles done, seconds,
 * resident memory and the process's peak (VmHWM).
 *
 *   node --conditions=sdxs-source --import tsx benchmarks/vae-upscale-memory.ts [--backend cpu] [--size 2048] [--tile 256] [--stage decode]
 *
 * `--stage decode` runs only the decode half (the heavier one: 16x up to 4096²) on a random latent of
 * the size the image would give, with the same host buffers as the full run.
 */
import sharp from 'sharp';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as C from '../packages/core/src/index.js';
import { AsymmetricAutoencoderKL, decodeTiled, DEFAULT_OVERLAP, DEFAULT_TILE, ProgressTracker, randomizeWeights, upscale, type UpscaleProgress } from '../packages/vae/src/index.js';
import { peakRssMiB, VAE_REAL_CONFIG } from './vae.bench.js';

const arg = (n: string): string | undefined => (process.argv.includes(`--${n}`) ? process.argv[process.argv.indexOf(`--${n}`) + 1] : undefined);
const backend = arg('backend') ?? 'cpu';
const size = Number(arg('size') ?? 2048);
const tile = Number(arg('tile') ?? DEFAULT_TILE);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const photo = path.resolve(process.env.SDXS_FIXTURES ?? path.join(root, '../shared/fixtures'), '../images/coffee.png');

await C.setBackend(backend);
const vae = new AsymmetricAutoencoderKL(VAE_REAL_CONFIG);
randomizeWeights(vae, { seed: 1234 });
const { data, info } = await sharp(photo).resize(size, size).removeAlpha().raw().toBuffer({ resolveWithObject: true });
const mib = (b: number): number => Math.round(b / 2 ** 20);
console.log(`backend ${backend}, ${size}x${size}, tile ${tile}; after weights + image: rss ${mib(process.memoryUsage().rss)} MiB, peak ${peakRssMiB()} MiB`);
const t0 = performance.now();
const log = (p: UpscaleProgress): void =>
  console.log(`${p.stage} ${p.done}/${p.total} ${((performance.now() - t0) / 1000).toFixed(0)} s, eta ${p.etaMs === undefined ? '?' : (p.etaMs / 60000).toFixed(1)} min, rss ${mib(process.memoryUsage().rss)} MiB, peak ${peakRssMiB()} MiB`);
if (arg('stage') === 'decode') {
  const l = size / 8;
  const z = new Float32Array(32 * l * l);
  new C.RandomGenerator(5).fillNormal(z);
  const tiles = Math.ceil(Math.max(0, l - tile / 8) / ((tile - DEFAULT_OVERLAP) / 8)) + 1;
  const tracker = new ProgressTracker({ encode: 0, decode: tiles * tiles }, log);
  const img = await decodeTiled(vae, z, [1, 32, l, l], { tile, overlap: DEFAULT_OVERLAP, tracker });
  console.log(`decode done: ${img.length / 3} pixels in ${((performance.now() - t0) / 1000).toFixed(0)} s, peak resident ${peakRssMiB()} MiB`);
  process.exit(0);
}
const out = await upscale(vae, { width: info.width, height: info.height, channels: 3, data: new Uint8Array(data.buffer, data.byteOffset, data.length) }, {
  tile,
  onProgress: log,
});
console.log(`done: ${out.width}x${out.height} in ${((performance.now() - t0) / 1000).toFixed(0)} s, peak resident ${peakRssMiB()} MiB`);
