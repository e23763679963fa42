/**
 * Tiled encode and decode on host buffers. Only one tile's activations live on the backend at a time,
 * so peak memory follows the tile size; the host holds the (small) latent and the output image.
 */
import * as C from '@sdxs/core';
import { blendWeights, scaleAxis, tileAxis, type Axis } from './tiles.js';
import type { ProgressTracker } from './progress.js';
import { SharedGroupNormStats } from './norm-stats.js';

export interface TileOptions {
  /** Tile edge in input pixels (a multiple of the encoder scale, 8); 0 = never tile. */
  tile: number;
  /** Overlap of neighbouring tiles in input pixels (a multiple of 8, smaller than `tile`). */
  overlap: number;
}

/**
 * GroupNorm statistics of tiles: 'tile' = each tile its own (one pass); 'shared' = a first pass over
 * every tile records them and a second pass normalises every tile with the whole-image statistics.
 */
export type NormStatsPolicy = 'tile' | 'shared';

export interface TiledStepOptions extends TileOptions {
  signal?: AbortSignal;
  tracker?: ProgressTracker;
  normStats?: NormStatsPolicy;
}

/**
 * What tiling needs of a model (AsymmetricAutoencoderKL has it): encode to a posterior whose mean is
 * used, decode, and the two spatial scales.
 */
export interface TiledModel extends C.Module {
  readonly config: { readonly latentChannels: number; readonly outChannels: number };
  readonly encoderScale: number;
  readonly decoderScale: number;
  encode(image: C.Tensor): { mean: C.Tensor; logvar: C.Tensor };
  decode(latent: C.Tensor): C.Tensor;
}

/** Shape of a host NCHW buffer. */
export type Dims = [n: number, c: number, h: number, w: number];

/** Copies the [y0, y0+h) × [x0, x0+w) window of every plane of an NCHW host buffer. */
function window(src: Float32Array, [n, c, H, W]: Dims, y0: number, x0: number, h: number, w: number): Float32Array {
  if (y0 === 0 && x0 === 0 && h === H && w === W) return src;
  const out = new Float32Array(n * c * h * w);
  for (let p = 0; p < n * c; p++) {
    for (let y = 0; y < h; y++) {
      const s = p * H * W + (y0 + y) * W + x0;
      out.set(src.subarray(s, s + w), p * h * w + y * w);
    }
  }
  return out;
}

/** out[window] += tile · wy ⊗ wx */
function accumulate(out: Float32Array, [n, c, H, W]: Dims, tile: Float32Array, y0: number, x0: number, wy: Float32Array, wx: Float32Array): void {
  const h = wy.length;
  const w = wx.length;
  for (let p = 0; p < n * c; p++) {
    for (let y = 0; y < h; y++) {
      const o = p * H * W + (y0 + y) * W + x0;
      const t = p * h * w + y * w;
      const fy = wy[y]!;
      for (let x = 0; x < w; x++) out[o + x]! += tile[t + x]! * fy * wx[x]!;
    }
  }
}

const nextTick = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

async function run(fn: () => C.Tensor): Promise<Float32Array> {
  const t = fn();
  try {
    return (await t.data()) as Float32Array;
  } finally {
    t.dispose();
  }
}

function validate(o: TileOptions, align: number): void {
  if (o.tile === 0) return;
  if (!Number.isInteger(o.tile) || o.tile < align || o.tile % align !== 0) throw new C.InputError(`tile size ${o.tile} must be a positive multiple of ${align}`);
  if (!Number.isInteger(o.overlap) || o.overlap < 0 || o.overlap % align !== 0 || o.overlap >= o.tile) {
    throw new C.InputError(`tile overlap ${o.overlap} must be a multiple of ${align} in [0, ${o.tile})`);
  }
}

/** Tile layouts of both axes for `size`; the whole axis when tiling is off. */
function grid(h: number, w: number, o: TileOptions, unit: number): [Axis, Axis] {
  if (o.tile === 0) return [{ starts: [0], length: h }, { starts: [0], length: w }];
  return [tileAxis(h, o.tile / unit, o.overlap / unit), tileAxis(w, o.tile / unit, o.overlap / unit)];
}

/** Number of passes over the tiles for a policy and a tile count. */
export const passesFor = (policy: NormStatsPolicy | undefined, tiles: number): number => (policy === 'shared' && tiles > 1 ? 2 : 1);

/** Visits every tile once, or twice (record, then apply) with shared GroupNorm statistics. */
async function eachTile(
  vae: TiledModel,
  ay: Axis,
  ax: Axis,
  o: TiledStepOptions,
  kind: 'encode' | 'decode',
  body: (i: number, j: number, last: boolean) => Promise<void>,
): Promise<void> {
  const passes = passesFor(o.normStats, ay.starts.length * ax.starts.length);
  const stats = passes > 1 ? new SharedGroupNormStats(vae) : undefined;
  try {
    for (let pass = 0; pass < passes; pass++) {
      if (stats) stats.mode = pass === 0 ? 'record' : 'apply';
      for (let i = 0; i < ay.starts.length; i++) {
        for (let j = 0; j < ax.starts.length; j++) {
          C.throwIfAborted(o.signal);
          await body(i, j, pass === passes - 1);
          o.tracker?.step(kind);
          await nextTick();
        }
      }
    }
  } finally {
    stats?.uninstall();
  }
}

/** Number of tiles of an image of h × w pixels (multiples of the encoder scale). */
export function countTiles(vae: TiledModel, h: number, w: number, o: TileOptions): number {
  const [ay, ax] = grid(h, w, o, 1);
  return ay.starts.length * ax.starts.length;
}

/**
 * Posterior means of an NCHW image in [-1, 1] (H and W multiples of the encoder scale), encoded tile
 * by tile and blended linearly over the overlaps. Returns the [N, latent, H/8, W/8] latent.
 */
export async function encodeTiled(vae: TiledModel, image: Float32Array, dims: Dims, o: TiledStepOptions): Promise<Float32Array> {
  const s = vae.encoderScale;
  validate(o, s);
  const [n, , H, W] = dims;
  const [ay, ax] = grid(H, W, o, 1);
  const lat: Dims = [n, vae.config.latentChannels, H / s, W / s];
  const ly = scaleAxis(ay, 1 / s);
  const lx = scaleAxis(ax, 1 / s);
  const wy = blendWeights(ly, lat[2]);
  const wx = blendWeights(lx, lat[3]);
  const out = new Float32Array(lat[0] * lat[1] * lat[2] * lat[3]);
  await eachTile(vae, ay, ax, o, 'encode', async (i, j, last) => {
    const px = window(image, dims, ay.starts[i]!, ax.starts[j]!, ay.length, ax.length);
    const mean = await run(() => {
      const x = C.fromData(px, [n, dims[1], ay.length, ax.length], 'float32');
      try {
        const post = vae.encode(x);
        post.logvar.dispose();
        return post.mean;
      } finally {
        x.dispose();
      }
    });
    if (last) accumulate(out, lat, mean, ly.starts[i]!, lx.starts[j]!, wy[i]!, wx[j]!);
  });
  return out;
}

/**
 * Decodes an NCHW latent tile by tile (tiles of tile/8 latent pixels) and blends the decoded tiles
 * linearly over their overlaps. Returns the [N, out, H·16, W·16] image (unclamped).
 */
export async function decodeTiled(vae: TiledModel, latent: Float32Array, dims: Dims, o: TiledStepOptions): Promise<Float32Array> {
  const s = vae.encoderScale;
  const up = vae.decoderScale;
  validate(o, s);
  const [n, c, h, w] = dims;
  const [ly, lx] = grid(h, w, o, s);
  const img: Dims = [n, vae.config.outChannels, h * up, w * up];
  const iy = scaleAxis(ly, up);
  const ix = scaleAxis(lx, up);
  const wy = blendWeights(iy, img[2]);
  const wx = blendWeights(ix, img[3]);
  const out = new Float32Array(img[0] * img[1] * img[2] * img[3]);
  await eachTile(vae, ly, lx, o, 'decode', async (i, j, last) => {
    const z = window(latent, dims, ly.starts[i]!, lx.starts[j]!, ly.length, lx.length);
    const dec = await run(() => {
      const t = C.fromData(z, [n, c, ly.length, lx.length], 'float32');
      try {
        return vae.decode(t);
      } finally {
        t.dispose();
      }
    });
    if (last) accumulate(out, img, dec, iy.starts[i]!, ix.starts[j]!, wy[i]!, wx[j]!);
  });
  return out;
}
