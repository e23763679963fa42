/** Seeded random weights (tests and benchmarks): normals for weights, ones/zeros for norms, small biases. */
import * as C from '@sdxs/core';

export interface RandomWeightsOptions {
  seed?: number;
  /** std of weight matrices / kernels, scaled by 1/sqrt(fan_in) when `fanIn` is true (default) */
  std?: number;
  fanIn?: boolean;
  dtype?: 'float32' | 'float16' | 'bfloat16';
}

/** Fills every parameter of `module` from a seeded generator; returns the resident bytes. */
export function randomizeWeights(module: C.Module, opts: RandomWeightsOptions = {}): number {
  const g = new C.RandomGenerator(opts.seed ?? 0);
  const dtype = opts.dtype ?? 'float32';
  let bytes = 0;
  for (const [name, p] of module.namedParameters()) {
    const size = p.shape.reduce((a, b) => a * b, 1);
    const isNorm = /(^|\.)norm[^.]*\./.test(name) || name.startsWith('conv_norm_out.');
    const data = new Float32Array(size);
    if (isNorm) data.fill(name.endsWith('.weight') ? 1 : 0);
    else if (p.shape.length === 1) g.fillNormal(data, 0, 0.02);
    else {
      const fanIn = p.shape.slice(1).reduce((a, b) => a * b, 1);
      g.fillNormal(data, 0, (opts.std ?? 1) / ((opts.fanIn ?? true) ? Math.sqrt(fanIn) : 1));
    }
    const t =
      dtype === 'float32'
        ? C.fromData(data, p.shape, 'float32')
        : C.fromData(dtype === 'float16' ? C.f32ToF16(data) : C.f32ToBf16(data), p.shape, dtype);
    p.set(t);
    bytes += t.bytes;
  }
  return bytes;
}
