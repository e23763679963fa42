/** Checks on a decoded screenshot: that it shows a laid-out page, not a blank or one-colour one. */
import type { Rgba } from './png-read.js';

export interface Region {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface RegionStats {
  /** mean R, G, B */
  mean: [number, number, number];
  /** standard deviation of luma */
  lumaStd: number;
  /** distinct colours, each channel quantised to 5 bits */
  colours: number;
}

export function regionStats(img: Rgba, r: Region = { x: 0, y: 0, width: img.width, height: img.height }): RegionStats {
  const x0 = Math.max(0, Math.floor(r.x));
  const y0 = Math.max(0, Math.floor(r.y));
  const x1 = Math.min(img.width, Math.ceil(r.x + r.width));
  const y1 = Math.min(img.height, Math.ceil(r.y + r.height));
  const sum = [0, 0, 0];
  let l1 = 0;
  let l2 = 0;
  let n = 0;
  const seen = new Set<number>();
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const o = (y * img.width + x) * 4;
      const [red, green, blue] = [img.data[o]!, img.data[o + 1]!, img.data[o + 2]!];
      sum[0]! += red;
      sum[1]! += green;
      sum[2]! += blue;
      const luma = 0.2126 * red + 0.7152 * green + 0.0722 * blue;
      l1 += luma;
      l2 += luma * luma;
      n++;
      seen.add(((red >> 3) << 10) | ((green >> 3) << 5) | (blue >> 3));
    }
  }
  if (n === 0) return { mean: [0, 0, 0], lumaStd: 0, colours: 0 };
  const m = l1 / n;
  return { mean: [sum[0]! / n, sum[1]! / n, sum[2]! / n], lumaStd: Math.sqrt(Math.max(0, l2 / n - m * m)), colours: seen.size };
}

export function colourDistance(a: readonly number[], b: readonly number[]): number {
  return Math.hypot(a[0]! - b[0]!, a[1]! - b[1]!, a[2]! - b[2]!);
}

/**
 * What is wrong with a page screenshot (empty when nothing): too few colours or too little contrast for text and
 * cards, or a header that does not stand out from the page background (`header` and `background` are
 * regions in screenshot pixels).
 */
export function screenshotProblems(img: Rgba, header: Region, background: Region): string[] {
  const problems: string[] = [];
  const all = regionStats(img);
  if (all.colours < 24) problems.push(`only ${all.colours} distinct colours: blank or unstyled`);
  if (all.lumaStd < 12) problems.push(`luma standard deviation ${all.lumaStd.toFixed(1)}: nearly uniform`);
  if (header.width < 1 || header.height < 1) problems.push('no header region');
  else {
    const h = regionStats(img, header);
    const bg = regionStats(img, background);
    const d = colourDistance(h.mean, bg.mean);
    if (d < 40) problems.push(`header colour ${h.mean.map(Math.round).join(',')} is too close to the background ${bg.mean.map(Math.round).join(',')} (distance ${d.toFixed(0)})`);
    if (h.lumaStd < 8) problems.push('header region has no text on it');
  }
  return problems;
}
