/**
 * Peak memory of one UNet call of the full-size model (a folder from make-real-model.ts: 16-bit weights, real
 * config) on one backend at a small latent: what a session holds for the weights, with nothing else loaded.
 * Not part of CI (the session alone takes minutes to create on 2 cores). Prints resident memory and the
 * process's peak (VmHWM) after loading, after the first call and after a second one.
 *
 *   node --conditions=sdxs-source --import tsx benchmarks/unet-memory.ts [model-dir] [--backend ort-webgpu] [--compute f32] [--latent 8]
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as C from '../packages/core/src/index.js';
import { UNet2DConditionModel } from '../packages/unet/src/index.js';
import { peakRssMiB } from './vae.bench.js';

const arg = (n: string): string | undefined => (process.argv.includes(`--${n}`) ? process.argv[process.argv.indexOf(`--${n}`) + 1] : undefined);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const model = process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : path.join(root, '.tmp/sdxs-real');
const backend = arg('backend') ?? 'ort-webgpu';
const compute = arg('compute') === 'f16' ? 'float16' : arg('compute') === 'auto' ? 'auto' : 'float32';
const latent = Number(arg('latent') ?? 8);
const tokens = Number(arg('tokens') ?? 16);

const mib = (b: number): number => Math.round(b / 2 ** 20);
const t0 = performance.now();
const log = (what: string): void => console.log(`${what}: ${((performance.now() - t0) / 1000).toFixed(0)} s, rss ${mib(process.memoryUsage().rss)} MiB, peak ${peakRssMiB()} MiB`);

await C.setBackend(backend, { compute });
const unet = await UNet2DConditionModel.fromPretrained(path.join(model, 'unet'));
log(`${backend} (${C.computeOf(C.currentBackend())} compute) UNet loaded`);
const cfg = unet.config;
const g = new C.RandomGenerator(1);
for (const run of ['first call (compiles)', 'second call']) {
  const x = C.tensor(g.fillNormal(new Float32Array(cfg.inChannels * latent * latent)), [1, cfg.inChannels, latent, latent]);
  const ctx = C.tensor(g.fillNormal(new Float32Array(tokens * cfg.crossAttentionDim[0]!)), [1, tokens, cfg.crossAttentionDim[0]!]);
  const y = unet.forward(x, 500, ctx);
  const d = (await y.data()) as Float32Array;
  C.dispose([x, ctx, y]);
  log(`${run} at a ${latent}x${latent} latent, ${tokens} tokens (out[0] ${d[0]!.toFixed(4)})`);
}
unet.dispose();
console.log(`peak resident ${peakRssMiB()} MiB (${((peakRssMiB() ?? 0) / 1024).toFixed(2)} GiB)`);
