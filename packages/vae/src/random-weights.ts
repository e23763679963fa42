import * as C from '@sdxs/core';

export interface RandomWeightsOptions {
  seed: number;
  /** Storage dtype (default float32; float16/bfloat16 halve the memory). */
  dtype?: 'float32' | 'float16' | 'bfloat16';
}

/**
 * Fills every parameter with seeded values (for benchmarks and tests, never for real use): conv and
 * linear weights ~ N(0, 1/fan_in), biases 0, norm scales 1. The same seed gives the same weights on
 * every backend (host generator).
 */
export function randomizeWeights(module: C.Module, opts: RandomWeightsOptions): void {
  const g = new C.RandomGenerator(opts.seed);
  const dtype = opts.dtype ?? 'float32';
  for (const [name, p] of module.namedParameters()) {
    const size = p.shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(size);
    const isNorm = /(^|\.)(norm\w*|group_norm|conv_norm_out)\.weight$/.test(name);
    if (p.shape.length === 1) values.fill(isNorm ? 1 : 0);
    else g.fillNormal(values, 0, 1 / Math.sqrt(size / p.shape[0]!));
    const t = C.fromData(values, p.shape, 'float32');
    if (dtype === 'float32') p.set(t);
    else {
      p.set(C.fromData(dtype === 'float16' ? C.f32ToF16(values) : C.f32ToBf16(values), p.shape, dtype));
      t.dispose();
    }
  }
}
