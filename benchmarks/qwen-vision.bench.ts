/**
 * Time and memory of Qwen3.5-2B's vision tower (random float16 weights, as a bf16 checkpoint stays 16-bit on
 * the ort-* backends) encoding one photo resized to size x size (default 1024², the SDXS resolution) through
 * Qwen35ImageProcessor with Qwen3.5's processor settings. Not part of CI (minutes on a 2-core CPU). Prints the
 * preprocessing time, the first forward (compile included on graph backends), a second one (steady state),
 * and the resident and peak memory after each.
 *
 *   node --conditions=sdxs-source --import tsx benchmarks/qwen-vision.bench.ts [--backend ort-cpu] [--size 1024] [--runs 2]
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import * as C from '../packages/core/src/index.js';
import { Qwen35ImageProcessor, Qwen35VisionModel, parseImageProcessorConfig, parseQwen35VisionConfig } from '../packages/text-qwen/src/index.js';
import { tiledRandomHalf } from './random-weights.js';
import { peakRssMiB } from './vae.bench.js';

/**
 * Qwen3.5-2B's vision_config. The layout is Qwen3-VL-2B's vision tower (24 blocks of width 1024, 16 heads,
 * MLP 4096, the 48x48 learned position grid) merging into the 2048-wide text model; an assumption until checked
 * against the released config.json, like benchmarks/qwen-config.ts.
 */
export const QWEN35_2B_VISION = {
  model_type: 'qwen3_5_vision',
  depth: 24,
  hidden_size: 1024,
  hidden_act: 'gelu_pytorch_tanh',
  intermediate_size: 4096,
  num_heads: 16,
  in_channels: 3,
  patch_size: 16,
  temporal_patch_size: 2,
  spatial_merge_size: 2,
  out_hidden_size: 2048,
  num_position_embeddings: 2304,
  rope_parameters: { rope_type: 'axial', rope_theta: 10000.0 },
};

/** Qwen3.5's preprocessor_config.json (Qwen3-VL's: 16-px patches, mean/std 0.5, 65,536 .. 16,777,216 pixels). */
export const QWEN35_PREPROCESSOR = {
  patch_size: 16,
  temporal_patch_size: 2,
  merge_size: 2,
  size: { shortest_edge: 65536, longest_edge: 16777216 },
  image_mean: [0.5, 0.5, 0.5],
  image_std: [0.5, 0.5, 0.5],
  resample: 3,
  rescale_factor: 1 / 255,
};

const arg = (n: string): string | undefined => (process.argv.includes(`--${n}`) ? process.argv[process.argv.indexOf(`--${n}`) + 1] : undefined);
const backend = arg('backend') ?? 'ort-cpu';
const size = Number(arg('size') ?? 1024);
const runs = Number(arg('runs') ?? 2);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const photo = path.resolve(process.env.SDXS_FIXTURES ?? path.join(root, '../shared/fixtures'), '../images/chelsea.png');
const mib = (b: number): number => Math.round(b / 2 ** 20);
const mem = (): string => `rss ${mib(process.memoryUsage().rss)} MiB, peak ${peakRssMiB()} MiB`;

await C.setBackend(backend);
const model = new Qwen35VisionModel(parseQwen35VisionConfig({ vision_config: QWEN35_2B_VISION }, 'QWEN35_2B_VISION'));
tiledRandomHalf(model, 1234);
const params = model.namedParameters().reduce((a, [, p]) => a + p.shape.reduce((x, y) => x * y, 1), 0);
const processor = new Qwen35ImageProcessor(parseImageProcessorConfig(QWEN35_PREPROCESSOR, 'QWEN35_PREPROCESSOR'));
const { data, info } = await sharp(photo).resize(size, size).removeAlpha().raw().toBuffer({ resolveWithObject: true });
console.log(`backend ${backend}, photo ${size}x${size}, vision tower ${(params / 1e6).toFixed(0)} M parameters (float16); ${mem()}`);

let t = performance.now();
const { pixelValues, imageGridThw } = processor.preprocess({ data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height });
const [[, gh, gw]] = imageGridThw as [[number, number, number]];
console.log(`preprocess: ${(performance.now() - t).toFixed(0)} ms → ${gh}x${gw} patches (${(gh * gw) / 4} image tokens); ${mem()}`);

for (let i = 0; i < runs; i++) {
  t = performance.now();
  const out = model.forward(pixelValues, imageGridThw);
  const embeds = (await out.imageEmbeds.data()) as Float32Array;
  const s = (performance.now() - t) / 1000;
  let finite = 0;
  for (const v of embeds) if (Number.isFinite(v)) finite++;
  console.log(`forward ${i + 1}${i === 0 && C.isGraphBackend() ? ' (compile included)' : ''}: ${s.toFixed(1)} s, image_embeds ${JSON.stringify(out.imageEmbeds.shape)} (${finite === embeds.length ? 'all finite' : `${embeds.length - finite} not finite`}); ${mem()}`);
  C.dispose(out);
}
pixelValues.dispose();
model.dispose();
