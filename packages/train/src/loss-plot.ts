/** A self-contained SVG line chart of the loss (raw points and a moving average) against the step. */
export function lossCurveSvg(points: readonly { step: number; loss: number }[], opts: { width?: number; height?: number; title?: string; smooth?: number } = {}): string {
  const W = opts.width ?? 720;
  const H = opts.height ?? 360;
  const m = { l: 64, r: 16, t: 28, b: 40 };
  const pts = points.filter((p) => Number.isFinite(p.loss));
  const esc = (s: string): string => s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
  const head = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`;
  const title = `<text x="${m.l}" y="18" font-size="13">${esc(opts.title ?? 'training loss')}</text>`;
  if (pts.length === 0) return `${head}<rect width="100%" height="100%" fill="white"/>${title}</svg>\n`;
  const x0 = pts[0]!.step;
  const x1 = Math.max(pts[pts.length - 1]!.step, x0 + 1);
  let y0 = Math.min(...pts.map((p) => p.loss));
  let y1 = Math.max(...pts.map((p) => p.loss));
  if (y1 - y0 < 1e-12) {
    y0 -= 0.5;
    y1 += 0.5;
  }
  const sx = (s: number): number => m.l + ((s - x0) / (x1 - x0)) * (W - m.l - m.r);
  const sy = (v: number): number => H - m.b - ((v - y0) / (y1 - y0)) * (H - m.t - m.b);
  const line = (ps: { step: number; loss: number }[]): string => ps.map((p, i) => `${i ? 'L' : 'M'}${sx(p.step).toFixed(1)},${sy(p.loss).toFixed(1)}`).join('');
  const k = opts.smooth ?? Math.max(1, Math.round(pts.length / 50));
  const avg = pts.map((p, i) => {
    const w = pts.slice(Math.max(0, i - k + 1), i + 1);
    return { step: p.step, loss: w.reduce((s, q) => s + q.loss, 0) / w.length };
  });
  const ticks: string[] = [];
  for (let i = 0; i <= 4; i++) {
    const v = y0 + ((y1 - y0) * i) / 4;
    const s = Math.round(x0 + ((x1 - x0) * i) / 4);
    ticks.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${sy(v).toFixed(1)}" y2="${sy(v).toFixed(1)}" stroke="#eee"/>`);
    ticks.push(`<text x="${m.l - 6}" y="${(sy(v) + 4).toFixed(1)}" text-anchor="end">${v.toPrecision(3)}</text>`);
    ticks.push(`<text x="${sx(s).toFixed(1)}" y="${H - m.b + 16}" text-anchor="middle">${s}</text>`);
  }
  return [
    head,
    '<rect width="100%" height="100%" fill="white"/>',
    title,
    ...ticks,
    `<text x="${(W / 2).toFixed(0)}" y="${H - 6}" text-anchor="middle">step</text>`,
    `<path d="${line(pts)}" fill="none" stroke="#9ecae1" stroke-width="1"/>`,
    `<path d="${line(avg)}" fill="none" stroke="#08519c" stroke-width="2"/>`,
    '</svg>\n',
  ].join('');
}
