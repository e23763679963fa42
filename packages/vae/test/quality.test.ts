import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, test } from 'vitest';
import * as C from '@sdxs/core';
import { AsymmetricAutoencoderKL, evaluateVae, formatVaeReport, psnrChartSvg, vaeReportCsv, vaeReportJson, type VaeImageScore } from '../src/index.js';
import { evaluateVaeFolder } from '../src/node/index.js';
import { imagesDir, vaeTinyDir } from './helpers/fixtures.js';

// Independent computations (float64, 2-D indexing, explicit kernels) to check the library's metrics against.

/** RGB planes in [0, 1] of a file, centre-cropped to multiples of `step`, read with sharp here. */
async function planes(file: string, step: number): Promise<{ data: Float64Array; h: number; w: number }> {
  const { data, info } = await sharp(file).toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const h = info.height - (info.height % step);
  const w = info.width - (info.width % step);
  const oy = Math.floor((info.height - h) / 2);
  const ox = Math.floor((info.width - w) / 2);
  const out = new Float64Array(3 * h * w);
  for (let c = 0; c < 3; c++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[(c * h + y) * w + x] = data[((y + oy) * info.width + (x + ox)) * info.channels + c]! / 255;
  return { data: out, h, w };
}

function meanSquared(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return s / a.length;
}

const KX = [
  [-1, 0, 1],
  [-2, 0, 2],
  [-1, 0, 1],
];
const KY = [
  [-1, -2, -1],
  [0, 0, 0],
  [1, 2, 1],
];
function sobelL1(a: ArrayLike<number>, b: ArrayLike<number>, h: number, w: number): number {
  const mag = (img: ArrayLike<number>, c: number, y: number, x: number): number => {
    let gx = 0;
    let gy = 0;
    for (let j = -1; j <= 1; j++) {
      for (let i = -1; i <= 1; i++) {
        const v = img[(c * h + y + j) * w + x + i]!;
        gx += KX[j + 1]![i + 1]! * v;
        gy += KY[j + 1]![i + 1]! * v;
      }
    }
    return Math.hypot(gx, gy);
  };
  let s = 0;
  let n = 0;
  for (let c = 0; c < 3; c++) {
    for (let y = 1; y < h - 1; y++) {
      for (let x = 1; x < w - 1; x++) {
        s += Math.abs(mag(a, c, y, x) - mag(b, c, y, x));
        n++;
      }
    }
  }
  return s / n;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

let vae: AsymmetricAutoencoderKL;
beforeAll(async () => {
  await C.setBackend('cpu');
  vae = await AsymmetricAutoencoderKL.fromPretrained(vaeTinyDir);
});

describe('VAE quality report', () => {
  test('reconstruction metrics on the shared photos match independent computations', async () => {
    const report = await evaluateVaeFolder(vae, imagesDir, { keepImages: true });
    expect(report.images.map((s) => s.name)).toEqual(['camera.png', 'chelsea.png', 'coffee.png']);
    const f = vae.upscaleFactor;
    for (const s of report.images) {
      const ref = await planes(path.join(imagesDir, s.name), vae.decoderScale);
      expect([s.height, s.width]).toEqual([ref.h, ref.w]);
      expect(maxDiff(s.reference!, ref.data)).toBeLessThan(1e-6);
      // the encoder's input: f x f block means of the reference
      const [ih, iw] = [ref.h / f, ref.w / f];
      const input = new Float64Array(3 * ih * iw);
      for (let c = 0; c < 3; c++) {
        for (let y = 0; y < ih; y++) {
          for (let x = 0; x < iw; x++) {
            let a = 0;
            for (let j = 0; j < f; j++) for (let i = 0; i < f; i++) a += ref.data[(c * ref.h + y * f + j) * ref.w + x * f + i]!;
            input[(c * ih + y) * iw + x] = a / (f * f);
          }
        }
      }
      expect(maxDiff(s.input!.data, input)).toBeLessThan(1e-6);
      // our own encode → mean → decode, and the KL from mean/logvar
      const post = vae.encode(C.tensor(Float32Array.from(input, (v) => v * 2 - 1), [1, 3, ih, iw]));
      const mu = await post.mean.data();
      const lv = await post.logvar.data();
      let kl = 0;
      for (let i = 0; i < mu.length; i++) {
        const sigma = Math.exp(lv[i]! / 2);
        kl += 0.5 * (mu[i]! ** 2 + sigma ** 2 - 1 - 2 * Math.log(sigma));
      }
      kl /= mu.length;
      const dec = vae.decode(post.mean);
      const rec = Array.from(await dec.data(), (v) => (Math.min(1, Math.max(-1, v)) + 1) / 2);
      C.dispose([dec]);
      post.dispose();
      expect(maxDiff(s.reconstruction!, rec)).toBeLessThan(1e-5);
      const m = meanSquared(rec, ref.data);
      expect(s.mse).toBeCloseTo(m, 7);
      expect(Math.abs(s.mse - m) / m).toBeLessThan(1e-4);
      expect(Math.abs(s.psnr - 10 * Math.log10(1 / m))).toBeLessThan(1e-3);
      const edge = sobelL1(rec, ref.data, ref.h, ref.w);
      expect(Math.abs(s.edge - edge) / edge).toBeLessThan(1e-4);
      expect(Math.abs(s.kl - kl) / kl).toBeLessThan(1e-4);
      expect(s.lpips).toBeNull();
    }
    const avg = (k: keyof Pick<VaeImageScore, 'mse' | 'psnr' | 'edge' | 'kl'>): number => report.images.reduce((a, s) => a + s[k], 0) / report.images.length;
    expect(report.mean.psnr).toBeCloseTo(avg('psnr'), 10);
    expect(report.mean.mse).toBeCloseTo(avg('mse'), 12);
    const line = formatVaeReport(report);
    console.log(`fixture VAE (random tiny weights), reconstruct: ${line}\n${vaeReportCsv(report)}`);
    expect(line).toMatch(/^MSE=\d\.\d{3}e[-+]\d+ PSNR=\d+\.\d{2} LPIPS=n\/a Edge=\d\.\d{3}e[-+]\d+ KL=\d\.\d{3}e[-+]\d+$/);
    expect(report.lpipsReason).toMatch(/no LPIPS/);
    const csv = vaeReportCsv(report).trim().split('\n');
    expect(csv[0]).toBe('name,width,height,mse,psnr,lpips,edge,kl');
    expect(csv).toHaveLength(4);
    expect(JSON.parse(JSON.stringify(vaeReportJson(report))).images[1]).toMatchObject({ name: 'chelsea.png', width: 448, height: 288 });
    const svg = psnrChartSvg(report);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<rect /g)).toHaveLength(3);
    expect(svg).toContain('chelsea.png');
    // the chart is as wide as its title needs (three bars alone made it 168 px and clipped the title)
    const title = /<text x="(\d+)" y="16" font-size="12">([^<]+)<\/text>/.exec(svg)!;
    const width = Number(/<svg [^>]*width="(\d+)"/.exec(svg)![1]);
    expect(width).toBeGreaterThanOrEqual(Number(title[1]) + title[2]!.length * 6.5);
  }, 120_000);

  test("upscale mode compares the decoder's 2x output with the bilinearly resized original", async () => {
    const { data, info } = await sharp(path.join(imagesDir, 'coffee.png')).extract({ left: 200, top: 100, width: 40, height: 24 }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const image = { width: info.width, height: info.height, channels: 3 as const, data: new Uint8Array(data) };
    const r = await evaluateVae(vae, [{ name: 'crop', image }], { mode: 'upscale', keepImages: true });
    const s = r.images[0]!;
    const f = vae.upscaleFactor;
    expect([s.width, s.height]).toEqual([40 * f, 24 * f]);
    // bilinear with half-pixel centres (align_corners=False), written out here
    const [h, w, H, W] = [24, 40, 24 * f, 40 * f];
    const src = (c: number, y: number, x: number): number => data[(y * w + x) * 3 + c]! / 255;
    const coord = (d: number, n: number, N: number): [number, number, number] => {
      const p = Math.max(0, ((d + 0.5) * n) / N - 0.5);
      const a = Math.min(Math.floor(p), n - 1);
      return [a, Math.min(a + 1, n - 1), p - a];
    };
    let maxErr = 0;
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < H; y++) {
        const [y0, y1, fy] = coord(y, h, H);
        for (let x = 0; x < W; x++) {
          const [x0, x1, fx] = coord(x, w, W);
          const v = (src(c, y0, x0) * (1 - fx) + src(c, y0, x1) * fx) * (1 - fy) + (src(c, y1, x0) * (1 - fx) + src(c, y1, x1) * fx) * fy;
          maxErr = Math.max(maxErr, Math.abs(v - s.reference![(c * H + y) * W + x]!));
        }
      }
    }
    expect(maxErr).toBeLessThan(1e-5);
    const m = meanSquared(s.reconstruction!, s.reference!);
    expect(Math.abs(s.mse - m) / m).toBeLessThan(1e-6);
    expect(Math.abs(s.edge - sobelL1(s.reconstruction!, s.reference!, H, W)) / s.edge).toBeLessThan(1e-4);
  });
});
