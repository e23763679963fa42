import * as C from '../packages/core/src/index.js';

/**
 * Seeded random float16 weights, fast enough for billions of parameters: windows of one random block,
 * scaled 1/sqrt(fan_in); norms get weight 1 (0 for zero-centred RMSNorm) and bias 0.
 */
export function tiledRandomHalf(module: C.Module, seed: number): void {
  const g = new C.RandomGenerator(seed);
  const block = g.fillNormal(new Float32Array(1 << 20));
  const byStd = new Map<number, Uint16Array>();
  for (const [name, p] of module.namedParameters()) {
    const size = p.shape.reduce((a, b) => a * b, 1);
    const out = new Uint16Array(size);
    if (/norm/i.test(name) && p.shape.length === 1) {
      const zeroCentred = /(input_layernorm|post_attention_layernorm|q_norm|k_norm|^norm)\.weight$/.test(name) || name === 'norm.weight';
      out.fill(name.endsWith('.weight') && !zeroCentred ? 0x3c00 : 0);
    } else if (name.endsWith('A_log')) {
      for (let i = 0; i < size; i++) out[i] = C.numberToF16(Math.log(1 + (i % 16)));
    } else {
      const fanIn = p.shape.length === 1 ? 2500 : p.shape.slice(1).reduce((a, b) => a * b, 1);
      const std = 1 / Math.sqrt(fanIn);
      let bits = byStd.get(std);
      if (!bits) byStd.set(std, (bits = C.f32ToF16(block.map((v) => v * std))));
      for (let off = 0; off < size; ) {
        const start = g.nextU32() % bits.length;
        const n = Math.min(size - off, bits.length - start);
        out.set(bits.subarray(start, start + n), off);
        off += n;
      }
    }
    p.set(C.fromData(out, p.shape, 'float16'));
  }
}

