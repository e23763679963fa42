import type { Backend, Tensor } from '@sdxs/core';
import * as C from '@sdxs/core';
import type { InputSpec } from './conformance-cases.js';

const SPECIAL = [NaN, Infinity, -Infinity, 0, -0, 1, -1, 0.5, -2.5, 3, 1e-3, 88, -88, 100, 1e30, -1e-30];

/** Host data for one input, the same for every backend (seeded per case and input position). */
export function makeInput(spec: InputSpec, seed: number): Float32Array | Int32Array {
  const g = new C.RandomGenerator(seed);
  const n = spec.shape.reduce((p, c) => p * c, 1);
  const gen = spec.gen ?? 'normal';
  const vals = Array.from({ length: n }, (_, i): number => {
    switch (gen) {
      case 'normal': return g.normal();
      case 'positive': return 0.1 + 2.9 * g.uniform();
      case 'unit': return 2 * g.uniform() - 1;
      case 'wide': return 7.5 * (2 * g.uniform() - 1);
      case 'int': return Math.floor(g.uniform() * 19) - 9;
      case 'smallint': return Math.floor(g.uniform() * 5) - 2;
      case 'special': return SPECIAL[i % SPECIAL.length]!;
      case 'mask01': return g.uniform() < 0.5 ? 0 : 1;
      case 'idx': return Math.floor(g.uniform() * (spec.range ?? 1));
    }
  });
  // integer divisors must not be 0 (the int result of x/0 is undefined across backends)
  if (spec.dtype === 'int32' && gen === 'positive') return Int32Array.from(vals, (v) => Math.max(1, Math.round(v * 3)));
  return spec.dtype === 'int32' ? Int32Array.from(vals) : Float32Array.from(vals);
}

export function uploadInputs(specs: readonly InputSpec[], data: readonly (Float32Array | Int32Array)[], backend: Backend): Tensor[] {
  return specs.map((s, i) => C.fromData(data[i]!, s.shape, s.dtype ?? 'float32', backend));
}
