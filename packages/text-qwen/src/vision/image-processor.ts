/**
 * Qwen35ImageProcessor: transformers' `Qwen2VLImageProcessorPil` as Qwen3.5 uses it. `smart_resize` picks a size
 * whose sides are multiples of patch·merge with the pixel count inside [shortest_edge, longest_edge] (a larger
 * image is shrunk, not refused), Pillow's bicubic resamples to it, samples are rescaled and normalised, the frame
 * is repeated to the temporal patch size, and patches are laid out in spatial-merge-block order, each
 * [C, T, P, P] flattened.
 */
import * as C from '@sdxs/core';
import { resizeBicubicPil } from './pil-bicubic.js';
import type { GridThw } from './positions.js';

/** 8-bit samples, interleaved RGB (or RGBA, whose alpha is dropped as Pillow's convert('RGB') does). */
export interface ImageInput {
  data: Uint8Array;
  width: number;
  height: number;
  /** 3 (default) or 4 */
  channels?: number;
}

export interface Qwen35ImageProcessorConfig {
  patchSize: number;
  temporalPatchSize: number;
  mergeSize: number;
  minPixels: number;
  maxPixels: number;
  doResize: boolean;
  doRescale: boolean;
  rescaleFactor: number;
  doNormalize: boolean;
  imageMean: [number, number, number];
  imageStd: [number, number, number];
}

export interface ProcessedImage {
  /** [t·h·w, 3·T·P·P] float32 */
  pixelValues: C.Tensor;
  /** [[t, h, w]] in patches */
  imageGridThw: GridThw[];
}

/** Python's round(): halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The reference's smart_resize: [height, width] of the resized image. */
export function smartResize(height: number, width: number, factor: number, minPixels: number, maxPixels: number): [number, number] {
  if (Math.max(height, width) / Math.min(height, width) > 200) {
    throw new C.InputError(`image ${width}x${height}: the aspect ratio must be smaller than 200, got ${(Math.max(height, width) / Math.min(height, width)).toFixed(1)}`);
  }
  let h = Math.max(factor, roundHalfEven(height / factor) * factor);
  let w = Math.max(factor, roundHalfEven(width / factor) * factor);
  if (h * w > maxPixels) {
    const beta = Math.sqrt((height * width) / maxPixels);
    h = Math.max(factor, Math.floor(height / beta / factor) * factor);
    w = Math.max(factor, Math.floor(width / beta / factor) * factor);
  } else if (h * w < minPixels) {
    const beta = Math.sqrt(minPixels / (height * width));
    h = Math.ceil((height * beta) / factor) * factor;
    w = Math.ceil((width * beta) / factor) * factor;
  }
  return [h, w];
}

const triple = (r: C.ConfigReader, k: string, fallback: [number, number, number]): [number, number, number] => {
  const v = r.raw(k);
  if (v === undefined) return fallback;
  const list = typeof v === 'number' ? [v, v, v] : v;
  if (!Array.isArray(list) || list.length !== 3 || !list.every((x) => typeof x === 'number' && Number.isFinite(x))) r.fail(k, 'must be a number or three numbers');
  return [list[0], list[1], list[2]];
};

/** Parses `preprocessor_config.json` (Qwen2VLImageProcessor keys; `min_pixels` / `max_pixels` override `size`). */
export function parseImageProcessorConfig(json: unknown, file = 'preprocessor_config.json'): Qwen35ImageProcessorConfig {
  const r: C.ConfigReader = C.ConfigReader.of(json, file);
  const resample = r.raw('resample');
  if (resample !== undefined && resample !== 3) r.fail('resample', `is ${JSON.stringify(resample)}; only 3 (bicubic) is supported`);
  let minPixels = 56 * 56;
  let maxPixels = 28 * 28 * 1280;
  const size = r.raw('size');
  if (size !== undefined) {
    if (!C.isConfigObject(size)) r.fail('size', 'must be an object with shortest_edge and longest_edge');
    const s: C.ConfigReader = new C.ConfigReader(size, file, 'size.');
    minPixels = s.integer('shortest_edge', undefined, 1, 1 << 30);
    maxPixels = s.integer('longest_edge', undefined, 1, 1 << 30);
  }
  if (r.raw('min_pixels') !== undefined) minPixels = r.integer('min_pixels', undefined, 1, 1 << 30);
  if (r.raw('max_pixels') !== undefined) maxPixels = r.integer('max_pixels', undefined, 1, 1 << 30);
  if (minPixels > maxPixels) r.fail('size', `shortest_edge (${minPixels}) is larger than longest_edge (${maxPixels})`);
  const std = triple(r, 'image_std', [0.26862954, 0.26130258, 0.27577711]);
  if (std.some((v) => v === 0)) r.fail('image_std', 'must not contain 0');
  return {
    patchSize: r.integer('patch_size', 14, 1, 1024),
    temporalPatchSize: r.integer('temporal_patch_size', 2, 1, 64),
    mergeSize: r.integer('merge_size', 2, 1, 64),
    minPixels,
    maxPixels,
    doResize: r.boolean('do_resize', true),
    doRescale: r.boolean('do_rescale', true),
    rescaleFactor: r.number('rescale_factor', 1 / 255),
    doNormalize: r.boolean('do_normalize', true),
    imageMean: triple(r, 'image_mean', [0.48145466, 0.4578275, 0.40821073]),
    imageStd: std,
  };
}

export class Qwen35ImageProcessor {
  constructor(readonly config: Qwen35ImageProcessorConfig) {}

  /** Reads `preprocessor_config.json` of a folder (local path or hub id). */
  static async fromPretrained(source: string, options: { subfolder?: string; signal?: AbortSignal } = {}): Promise<Qwen35ImageProcessor> {
    const dir = await C.resolveModelSource(source, { subfolder: options.subfolder, files: ['preprocessor_config.json'], signal: options.signal });
    const json = await C.loadConfig(dir, undefined, 'preprocessor_config.json');
    return new Qwen35ImageProcessor(parseImageProcessorConfig(json, `${dir}/preprocessor_config.json`));
  }

  /** The [height, width] an image of this size is resized to. */
  targetSize(width: number, height: number): [number, number] {
    const c = this.config;
    return c.doResize ? smartResize(height, width, c.patchSize * c.mergeSize, c.minPixels, c.maxPixels) : [height, width];
  }

  /** Merged tokens (image placeholders) an image of this size becomes. */
  tokenCount(width: number, height: number): number {
    const [h, w] = this.targetSize(width, height);
    const p = this.config.patchSize * this.config.mergeSize;
    return (h / p) * (w / p);
  }

  /** One image → `{ pixelValues [patches, 3·T·P·P], imageGridThw [[1, h, w]] }`. */
  preprocess(image: ImageInput): ProcessedImage {
    const c = this.config;
    const ch = image.channels ?? 3;
    const { width, height } = image;
    if (ch !== 3 && ch !== 4) throw new C.InputError(`image has ${ch} channels; expected RGB (3) or RGBA (4)`);
    if (!Number.isSafeInteger(width) || !Number.isSafeInteger(height) || width < 1 || height < 1) throw new C.InputError(`image size ${width}x${height} is not valid`);
    if (image.data.length !== width * height * ch) throw new C.InputError(`image data has ${image.data.length} bytes; ${width}x${height}x${ch} needs ${width * height * ch}`);
    let rgb = image.data;
    if (ch === 4) {
      rgb = new Uint8Array(width * height * 3);
      for (let i = 0; i < width * height; i++) for (let k = 0; k < 3; k++) rgb[i * 3 + k] = image.data[i * 4 + k]!;
    }
    const [rh, rw] = this.targetSize(width, height);
    const p = c.patchSize;
    const m = c.mergeSize;
    if (rh % (p * m) !== 0 || rw % (p * m) !== 0) throw new C.InputError(`image ${width}x${height} is not a multiple of ${p * m} and do_resize is off`);
    const px = rh === height && rw === width ? rgb : resizeBicubicPil(rgb, width, height, 3, rw, rh);
    // rescale (float64 product, stored float32) then normalise in float32, per channel
    const f = Math.fround;
    const lut = Array.from({ length: 3 }, (_, k) => {
      const table = new Float32Array(256);
      const mean = f(c.imageMean[k]!);
      const std = f(c.imageStd[k]!);
      for (let v = 0; v < 256; v++) {
        let x = c.doRescale ? f(v * c.rescaleFactor) : v;
        if (c.doNormalize) x = f(f(x - mean) / std);
        table[v] = x;
      }
      return table;
    });
    const gh = rh / p;
    const gw = rw / p;
    const t = c.temporalPatchSize;
    const dim = 3 * t * p * p;
    const out = new Float32Array(gh * gw * dim);
    let row = 0;
    for (let bh = 0; bh < gh / m; bh++) {
      for (let bw = 0; bw < gw / m; bw++) {
        for (let ih = 0; ih < m; ih++) {
          for (let iw = 0; iw < m; iw++) {
            const y0 = (bh * m + ih) * p;
            const x0 = (bw * m + iw) * p;
            let o = row * dim;
            for (let k = 0; k < 3; k++) {
              const table = lut[k]!;
              // the single frame repeated T times
              for (let ti = 0; ti < t; ti++) {
                for (let y = 0; y < p; y++) {
                  const base = ((y0 + y) * rw + x0) * 3 + k;
                  for (let x = 0; x < p; x++) out[o++] = table[px[base + x * 3]!]!;
                }
              }
            }
            row++;
          }
        }
      }
    }
    return { pixelValues: C.tensor(out, [gh * gw, dim]), imageGridThw: [[1, gh, gw]] };
  }
}
