/**
 * The VAE quality report of the SDXS seed: reconstruct images (encode → posterior mean → decode) and score
 * them (metrics.ts), per image and averaged in the seed's line `MSE=… PSNR=… LPIPS=… Edge=… KL=…`.
 *
 * Modes:
 * - 'reconstruct' (default, the seed's "reconstruction at 16x"): the image, centre-cropped to a multiple of
 *   the decoder scale, is area-downsampled by the VAE's upscale factor, encoded and decoded back to the
 *   cropped size, and compared with it.
 * - 'upscale' (the 2x upscaler): the image, cropped to a multiple of the encoder scale, is encoded as is and
 *   decoded at the decoder's output size, and compared with the original resized (bilinear) to that size.
 */
import * as C from '@sdxs/core';
import type { AsymmetricAutoencoderKL } from '../autoencoder.js';
import { resizeBilinear } from '../upscale/resize.js';
import { sampleMax, type Raster } from '../upscale/raster.js';
import { areaDownsample, edgeError, gaussianKl, mse, psnr } from './metrics.js';

export type VaeEvalMode = 'reconstruct' | 'upscale';

/** A perceptual scorer (e.g. LPIPS) of two `[3, H, W]` images in [0, 1]; lower is closer. */
export type PerceptualScorer = (a: Float32Array, b: Float32Array, h: number, w: number) => Promise<number>;

export interface VaeEvalOptions {
  mode?: VaeEvalMode;
  /** LPIPS or another perceptual distance; without one the LPIPS column is absent (see `lpipsReason`) */
  lpips?: PerceptualScorer | null;
  /** why LPIPS is absent, printed in the report (default: not available, sdxs has no LPIPS network) */
  lpipsReason?: string;
  /** keep the compared images in the result (`reference`, `reconstruction`, `input`) */
  keepImages?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: { done: number; total: number; name: string }) => void;
}

export interface VaeImageScore {
  name: string;
  /** size the images were compared at */
  width: number;
  height: number;
  mse: number;
  psnr: number;
  edge: number;
  kl: number;
  lpips: number | null;
  /** with keepImages: `[3, height, width]` planes in [0, 1] */
  reference?: Float32Array;
  reconstruction?: Float32Array;
  /** with keepImages: the encoder's input `[3, h, w]` in [0, 1] */
  input?: { data: Float32Array; width: number; height: number };
}

export interface VaeEvalReport {
  mode: VaeEvalMode;
  images: VaeImageScore[];
  /** means over images (PSNR is the mean of the per-image PSNRs) */
  mean: { mse: number; psnr: number; edge: number; kl: number; lpips: number | null };
  /** why there is no LPIPS, or null when there is */
  lpipsReason: string | null;
}

/** RGB planes in [0, 1] of a raster (alpha dropped), centre-cropped to `[h, w]`. */
function planesOf(img: Raster, h: number, w: number): Float32Array {
  const max = sampleMax(img.data);
  const [oy, ox] = [Math.floor((img.height - h) / 2), Math.floor((img.width - w) / 2)];
  const out = new Float32Array(3 * h * w);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) out[c * h * w + y * w + x] = Number(img.data[((y + oy) * img.width + x + ox) * img.channels + c]!) / max;
    }
  }
  return out;
}

/** Encode (posterior mean) and decode `[3, h, w]` planes in [0, 1]; the decoded image in [0, 1] and the KL. */
async function roundTrip(vae: AsymmetricAutoencoderKL, x: Float32Array, h: number, w: number): Promise<{ out: Float32Array; kl: number; oh: number; ow: number }> {
  const xt = C.tensor(x.map((v) => v * 2 - 1), [1, 3, h, w]);
  const post = vae.encode(xt);
  xt.dispose();
  try {
    const mean = (await post.mean.data()) as Float32Array;
    const logvar = (await post.logvar.data()) as Float32Array;
    const y = C.tidy(() => C.div(C.add(C.clamp(vae.decode(post.mean), -1, 1), 1), 2));
    const out = (await y.data()) as Float32Array;
    const [oh, ow] = [y.shape[2]!, y.shape[3]!];
    y.dispose();
    return { out, kl: gaussianKl(mean, logvar), oh, ow };
  } finally {
    post.dispose();
  }
}

/** Score a VAE on images (see the file comment for what is compared). */
export async function evaluateVae(vae: AsymmetricAutoencoderKL, images: readonly { name: string; image: Raster }[], opts: VaeEvalOptions = {}): Promise<VaeEvalReport> {
  const mode = opts.mode ?? 'reconstruct';
  const up = vae.upscaleFactor;
  const scores: VaeImageScore[] = [];
  for (const [i, { name, image }] of images.entries()) {
    C.throwIfAborted(opts.signal);
    const step = mode === 'reconstruct' ? vae.decoderScale : vae.encoderScale;
    const [h, w] = [Math.floor(image.height / step) * step, Math.floor(image.width / step) * step];
    if (h === 0 || w === 0) throw new C.InputError(`${name}: ${image.width}x${image.height} is smaller than the VAE's ${step} px step`);
    const original = planesOf(image, h, w);
    let input: Float32Array;
    let inH: number;
    let inW: number;
    let reference: Float32Array;
    if (mode === 'reconstruct') {
      [inH, inW] = [h / up, w / up];
      input = areaDownsample(original, 3, h, w, up);
      reference = original;
    } else {
      [inH, inW, input] = [h, w, original];
      const n = h * w;
      reference = new Float32Array(3 * n * up * up);
      for (let c = 0; c < 3; c++) reference.set(resizeBilinear(original.subarray(c * n, (c + 1) * n), h, w, h * up, w * up), c * n * up * up);
    }
    const { out, kl, oh, ow } = await roundTrip(vae, input, inH, inW);
    const e = mse(out, reference);
    const score: VaeImageScore = {
      name,
      width: ow,
      height: oh,
      mse: e,
      psnr: psnr(e),
      edge: edgeError(out, reference, 3, oh, ow),
      kl,
      lpips: opts.lpips ? await opts.lpips(out, reference, oh, ow) : null,
    };
    if (opts.keepImages) Object.assign(score, { reference, reconstruction: out, input: { data: input, width: inW, height: inH } });
    scores.push(score);
    opts.onProgress?.({ done: i + 1, total: images.length, name });
  }
  return summarizeVaeScores(mode, scores, opts.lpips ? null : (opts.lpipsReason ?? 'not available: sdxs has no LPIPS network, so the perceptual distance is not computed'));
}

/** A report from per-image scores: means over images (PSNR as the mean of per-image PSNRs). */
export function summarizeVaeScores(mode: VaeEvalMode, scores: VaeImageScore[], lpipsReason: string | null): VaeEvalReport {
  const avg = (f: (s: VaeImageScore) => number): number => (scores.length ? scores.reduce((a, s) => a + f(s), 0) / scores.length : NaN);
  return {
    mode,
    images: scores,
    mean: { mse: avg((s) => s.mse), psnr: avg((s) => s.psnr), edge: avg((s) => s.edge), kl: avg((s) => s.kl), lpips: lpipsReason === null ? avg((s) => s.lpips ?? NaN) : null },
    lpipsReason,
  };
}

/** The seed's table line: `MSE=2.655e-4 PSNR=37.83 LPIPS=0.026 Edge=… KL=…` (LPIPS=n/a when absent). */
export function formatVaeReport(r: VaeEvalReport): string {
  const m = r.mean;
  return `MSE=${m.mse.toExponential(3)} PSNR=${m.psnr.toFixed(2)} LPIPS=${m.lpips === null ? 'n/a' : m.lpips.toFixed(3)} Edge=${m.edge.toExponential(3)} KL=${m.kl.toExponential(3)}`;
}

/** Per-image CSV: name,width,height,mse,psnr,lpips,edge,kl (a header line first). */
export function vaeReportCsv(r: VaeEvalReport): string {
  const q = (s: string): string => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const rows = r.images.map((s) => [q(s.name), s.width, s.height, s.mse, s.psnr, s.lpips ?? '', s.edge, s.kl].join(','));
  return `${['name', 'width', 'height', 'mse', 'psnr', 'lpips', 'edge', 'kl'].join(',')}\n${rows.join('\n')}\n`;
}

/** The report as JSON-ready data (scores only, no images). */
export function vaeReportJson(r: VaeEvalReport): { mode: VaeEvalMode; mean: VaeEvalReport['mean']; lpipsReason: string | null; images: Omit<VaeImageScore, 'reference' | 'reconstruction' | 'input'>[] } {
  return {
    mode: r.mode,
    mean: r.mean,
    lpipsReason: r.lpipsReason,
    images: r.images.map(({ name, width, height, mse: m, psnr: p, edge, kl, lpips }) => ({ name, width, height, mse: m, psnr: p, edge, kl, lpips })),
  };
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A small SVG bar chart of per-image PSNR (dB), with the mean as a dashed line. */
export function psnrChartSvg(r: VaeEvalReport, opts: { title?: string } = {}): string {
  const bars = r.images.map((s) => ({ name: s.name, v: Number.isFinite(s.psnr) ? s.psnr : 99 }));
  const [bw, gap, left, top, plotH, bottom] = [28, 10, 44, 28, 160, 70];
  const title = opts.title ?? `VAE ${r.mode}: PSNR per image (dB)`;
  // wide enough for the bars and for the title (12 px sans-serif: under 7 px a character)
  const width = Math.max(left + Math.max(1, bars.length) * (bw + gap) + gap, left + Math.ceil(title.length * 7) + gap);
  const height = top + plotH + bottom;
  const max = Math.max(10, Math.ceil(Math.max(...bars.map((b) => b.v), 0) / 10) * 10);
  const y = (v: number): number => top + plotH - (v / max) * plotH;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="10">`);
  parts.push(`<text x="${left}" y="16" font-size="12">${esc(title)}</text>`);
  for (let t = 0; t <= max; t += max / 5) {
    parts.push(`<line x1="${left}" x2="${width - gap}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#ddd"/>`);
    parts.push(`<text x="${left - 4}" y="${(y(t) + 3).toFixed(1)}" text-anchor="end">${t.toFixed(0)}</text>`);
  }
  bars.forEach((b, i) => {
    const x = left + gap + i * (bw + gap);
    parts.push(`<rect x="${x}" y="${y(b.v).toFixed(1)}" width="${bw}" height="${(top + plotH - y(b.v)).toFixed(1)}" fill="#4a7ebb"><title>${esc(b.name)}: ${b.v.toFixed(2)} dB</title></rect>`);
    parts.push(`<text x="${x + bw / 2}" y="${(y(b.v) - 3).toFixed(1)}" text-anchor="middle">${b.v.toFixed(1)}</text>`);
    parts.push(`<text transform="translate(${x + bw / 2},${top + plotH + 10}) rotate(45)">${esc(b.name.length > 14 ? `${b.name.slice(0, 13)}…` : b.name)}</text>`);
  });
  if (bars.length && Number.isFinite(r.mean.psnr)) {
    parts.push(`<line x1="${left}" x2="${width - gap}" y1="${y(r.mean.psnr).toFixed(1)}" y2="${y(r.mean.psnr).toFixed(1)}" stroke="#c33" stroke-dasharray="4 3"><title>mean ${r.mean.psnr.toFixed(2)} dB</title></line>`);
  }
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
