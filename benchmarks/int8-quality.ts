/**
 * The accuracy of int8 products (compute 'int8') against float32 on ort-cpu, at the real configs with seeded
 * random 16-bit weights (benchmarks/random-weights.ts):
 *   vae-upscale  the 2x upscale of each photo of ../shared/images (cropped to 256², → 512²): PSNR of the int8
 *                image against the float32 one (8-bit pixels) and the relative L2 error of the decoder output
 *   unet-step    one UNet forward, [2, 32, 32, 32] latent, 249 text tokens: relative L2 error
 *   qwen-encode  Qwen3.5-2B on a 248-token prompt: relative L2 error after the first layer and of hidden_states[-2]
 * Each (case, compute) runs in its own process (one model's sessions at a time); results go to
 * bench-results/int8-quality.{json,md}.
 *
 *   node --conditions=sdxs-source --import tsx benchmarks/int8-quality.ts [--cases vae-upscale,unet-step,qwen-encode] [--out dir]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tiledRandomHalf } from './random-weights.js';

const CASES = ['vae-upscale', 'unet-step', 'qwen-encode'] as const;
const QWEN_ITEMS = ['after layer 1', 'hidden_states[-2]'];
type CaseName = (typeof CASES)[number];

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
};

const imagesDir = fileURLToPath(new URL('../../shared/images/', import.meta.url));
/** The photos, in name order (the workers and the report read the same list). */
const PHOTOS: readonly string[] = readdirSync(imagesDir).filter((f) => /\.(png|jpe?g)$/i.test(f)).sort();

/** The case's outputs (one array per photo for the VAE) on ort-cpu in `compute`. */
async function outputs(name: CaseName, compute: 'float32' | 'int8'): Promise<Float32Array[]> {
  const C = await import('../packages/core/src/index.js');
  await C.setBackend('ort-cpu', { compute });
  if (name === 'vae-upscale') {
    const { AsymmetricAutoencoderKL, toPlanar } = await import('../packages/vae/src/index.js');
    const { readImage } = await import('../packages/vae/src/node/image-io.js');
    const { VAE_REAL_CONFIG } = await import('./vae.bench.js');
    const vae = new AsymmetricAutoencoderKL(VAE_REAL_CONFIG);
    tiledRandomHalf(vae, 1234);
    const out: Float32Array[] = [];
    for (const f of PHOTOS) {
      const img = await readImage(join(imagesDir, f));
      // planar RGB in [-1, 1]; the centre 256² crop
      const { rgb } = toPlanar(img);
      const [s, h, w] = [256, img.height, img.width];
      const [y0, x0] = [Math.floor((h - s) / 2), Math.floor((w - s) / 2)];
      const x = new Float32Array(3 * s * s);
      for (let ch = 0; ch < 3; ch++) for (let y = 0; y < s; y++) for (let xx = 0; xx < s; xx++) x[(ch * s + y) * s + xx] = rgb[(ch * h + y0 + y) * w + x0 + xx]!;
      const t = C.tensor(x, [1, 3, s, s]);
      const post = vae.encode(t);
      const y = vae.decode(post.mode());
      out.push((await y.data()) as Float32Array);
      C.dispose([t, y]);
      post.dispose();
    }
    vae.dispose();
    return out;
  }
  if (name === 'unet-step') {
    const { UNet2DConditionModel } = await import('../packages/unet/src/index.js');
    const { REAL_CONFIG } = await import('./unet.bench.js');
    const unet = UNet2DConditionModel.fromConfig(REAL_CONFIG);
    tiledRandomHalf(unet, 1234);
    const x = C.randomNormal([2, 32, 32, 32], { seed: 1 });
    const ctx = C.randomNormal([2, 249, 2048], { seed: 2 });
    const mask = C.tensor(Float32Array.from({ length: 2 * 249 }, (_, i) => (i % 249 < 200 ? 1 : 0)), [2, 249]);
    const y = unet.forward(x, 500, ctx, mask);
    const d = (await y.data()) as Float32Array;
    C.dispose([x, ctx, mask, y]);
    unet.dispose();
    return [d];
  }
  const { Qwen35TextModel, parseQwen35Config } = await import('../packages/text-qwen/src/index.js');
  const { QWEN35_2B } = await import('./qwen-config.js');
  const model = new Qwen35TextModel(parseQwen35Config(QWEN35_2B));
  tiledRandomHalf(model, 1234);
  const ids = [Array.from({ length: 248 }, (_, i) => (i * 7919) % 248000)];
  const out: Float32Array[] = [];
  // the output of the first layer (one layer's error), then hidden_states[-2] (23 layers compounded)
  for (const y of [model.forward(ids, null, { stopAtLayer: 1 }).lastHiddenState, model.penultimateHiddenState(ids)]) {
    out.push((await y.data()) as Float32Array);
    y.dispose();
  }
  model.dispose();
  return out;
}

const relL2 = (a: Float32Array, b: Float32Array): number => {
  let e = 0;
  let r = 0;
  for (let i = 0; i < b.length; i++) {
    e += (a[i]! - b[i]!) ** 2;
    r += b[i]! ** 2;
  }
  return Math.sqrt(e / r);
};

/** PSNR (dB) of two decoder outputs in [-1, 1] as the 8-bit images a user gets. */
function psnr8(a: Float32Array, b: Float32Array): number {
  const px = (v: number): number => Math.round(Math.min(1, Math.max(-1, v)) * 127.5 + 127.5);
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (px(a[i]!) - px(b[i]!)) ** 2;
  const mse = se / a.length;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

async function main(): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  const w = process.argv.indexOf('--worker');
  if (w >= 0) {
    const [name, compute, file] = process.argv.slice(w + 1, w + 4) as [CaseName, 'float32' | 'int8', string];
    const t0 = performance.now();
    const outs = await outputs(name, compute);
    writeFileSync(file, JSON.stringify({ ms: performance.now() - t0, outs: outs.map((o) => Buffer.from(o.buffer, o.byteOffset, o.byteLength).toString('base64')) }));
    process.exit(0);
  }
  const cases = arg('cases', CASES.join(',')).split(',') as CaseName[];
  for (const c of cases) if (!CASES.includes(c)) throw new Error(`unknown case '${c}'; one of ${CASES.join(', ')}`);
  const out = arg('out', 'bench-results');
  mkdirSync(out, { recursive: true });
  const tmp = join(tmpdir(), `sdxs-int8-quality-${process.pid}`);
  mkdirSync(tmp, { recursive: true });
  const rows: string[] = ['| case | measure | value |', '|---|---|---:|'];
  const json: Record<string, unknown>[] = [];
  try {
    for (const c of cases) {
      const got: Record<string, Float32Array[]> = {};
      for (const compute of ['float32', 'int8'] as const) {
        const file = join(tmp, `${c}-${compute}.json`);
        console.error(`[int8-quality] ${c} in ${compute} ...`);
        const r = spawnSync(process.execPath, [...process.execArgv, self, '--worker', c, compute, file], { stdio: ['ignore', 'inherit', 'inherit'] });
        if (r.status !== 0) throw new Error(`${c} in ${compute} failed (exit ${r.status})`);
        const j = JSON.parse(readFileSync(file, 'utf8')) as { outs: string[] };
        got[compute] = j.outs.map((b) => {
          const buf = Buffer.from(b, 'base64');
          return new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
        });
      }
      got.float32!.forEach((ref, i) => {
        const q = got.int8![i]!;
        const item = c === 'vae-upscale' ? PHOTOS[i]! : c === 'qwen-encode' ? QWEN_ITEMS[i]! : null;
        const label = item ? `${c} ${item}` : c;
        const e = relL2(q, ref);
        rows.push(`| ${label} | relative L2 error | ${e.toExponential(2)} |`);
        const rec: Record<string, unknown> = { case: c, item, relL2: e };
        if (c === 'vae-upscale') {
          const p = psnr8(q, ref);
          rows.push(`| ${label} | PSNR of the 8-bit image vs float32 | ${p.toFixed(1)} dB |`);
          rec.psnrDb = p;
        }
        json.push(rec);
      });
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const md = `# int8 products vs float32 on ort-cpu (${new Date().toISOString().slice(0, 10)}; real configs, seeded random 16-bit weights)\n\n${rows.join('\n')}\n`;
  writeFileSync(join(out, 'int8-quality.md'), md);
  writeFileSync(join(out, 'int8-quality.json'), JSON.stringify({ date: new Date().toISOString(), results: json }, null, 2));
  console.log(md);
}

await main();
