/** ONNX Runtime's profile (enableProfiling's JSON events) summed per op type, as Markdown (ort-profile.ts, vae-profile.ts). */

export interface OrtProfileEvent {
  cat: string;
  name: string;
  dur: number;
  ts: number;
  args?: { op_name?: string; provider?: string; output_type_shape?: unknown[]; input_type_shape?: unknown[] };
}

/** The per-op table and the `top` slowest nodes of one run's kernel events; `modelRunUs`: that run's model_run time. */
export function profileTables(perRun: readonly OrtProfileEvent[], modelRunUs: number, top: number): string {
  const total = perRun.reduce((a, e) => a + e.dur, 0);
  const byOp = new Map<string, { us: number; n: number }>();
  for (const e of perRun) {
    const k = e.args?.op_name ?? '?';
    const o = byOp.get(k) ?? { us: 0, n: 0 };
    o.us += e.dur;
    o.n++;
    byOp.set(k, o);
  }
  const lines = [`\nlast run: model_run ${(modelRunUs / 1000).toFixed(0)} ms, kernels ${(total / 1000).toFixed(0)} ms (${perRun.length} nodes)\n`, '| op | nodes | ms | share |\n|---|---:|---:|---:|'];
  for (const [k, o] of [...byOp].sort((a, b) => b[1].us - a[1].us)) lines.push(`| ${k} | ${o.n} | ${(o.us / 1000).toFixed(1)} | ${((100 * o.us) / total).toFixed(1)}% |`);
  lines.push('\nslowest nodes:\n| node | op | ms | output |\n|---|---|---:|---|');
  for (const e of [...perRun].sort((a, b) => b.dur - a.dur).slice(0, top)) {
    lines.push(`| ${e.name.replace(/_kernel_time$/, '')} | ${e.args?.op_name} | ${(e.dur / 1000).toFixed(1)} | ${JSON.stringify(e.args?.output_type_shape ?? '')} |`);
  }
  return lines.join('\n');
}
