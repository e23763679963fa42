/** A small dependency-free SVG bar chart: one bar per backend, dashed reference lines (PyTorch). */
export interface Bar {
  label: string;
  value: number;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function barChartSvg(title: string, unit: string, bars: readonly Bar[], refs: readonly Bar[] = []): string {
  const width = 640;
  const rowH = 28;
  const left = 150;
  const right = 80;
  const top = 48;
  const height = top + Math.max(1, bars.length) * rowH + 40;
  const max = Math.max(1e-9, ...bars.map((b) => b.value), ...refs.map((r) => r.value));
  const x = (v: number): number => left + (v / max) * (width - left - right);
  const colors = ['#2f6fdf', '#e07b39', '#3aa17e', '#9b59b6', '#c0392b', '#7f8c8d'];
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="12" y="20" font-size="14" font-weight="600">${esc(title)}</text>`,
    `<text x="12" y="36" fill="#555">${esc(unit)}</text>`,
  ];
  bars.forEach((b, i) => {
    const y = top + i * rowH;
    parts.push(`<text x="${left - 8}" y="${y + 17}" text-anchor="end">${esc(b.label)}</text>`);
    parts.push(`<rect x="${left}" y="${y + 4}" width="${Math.max(1, x(b.value) - left).toFixed(1)}" height="${rowH - 8}" fill="${colors[i % colors.length]}"/>`);
    parts.push(`<text x="${(x(b.value) + 6).toFixed(1)}" y="${y + 17}">${b.value.toPrecision(3)}</text>`);
  });
  const bottom = top + Math.max(1, bars.length) * rowH;
  refs.forEach((r, i) => {
    const rx = x(r.value).toFixed(1);
    parts.push(`<line x1="${rx}" y1="${top - 4}" x2="${rx}" y2="${bottom + 4}" stroke="#222" stroke-dasharray="4 3"/>`);
    parts.push(`<text x="${rx}" y="${bottom + 18 + i * 14}" text-anchor="middle" fill="#222">${esc(r.label)} ${r.value.toPrecision(3)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
