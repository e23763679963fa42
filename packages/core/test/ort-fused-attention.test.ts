// Both attention lowerings (the fused com.microsoft.MultiHeadAttention node and MatMul-Softmax-MatMul), chosen
// with the runner's `fusedAttention` option, on ONNX Runtime's CPU provider: each graph holds the node it says,
// and both equal the cpu backend, with and without a mask, in both key/value layouts.
import { afterAll, describe, expect, test } from 'vitest';
import * as C from '@sdxs/core';
import { skipUnlessBackend } from '@sdxs/core/testing';
import type { LazyValue } from '../src/graph/lazy-value.js';
import { planSegment } from '../src/graph/segment.js';
import { lowerSegment } from '../src/onnx/lower.js';
import { createOrtBackend } from '../src/backends/ort/index.js';
import { nodeRuntime } from '../src/backends/ort/runtime.js';

const noOrt = await skipUnlessBackend('ort-cpu', 'ort-cpu (onnxruntime-node)');

const VARIANTS = [
  { fused: true, layout: 'bnsh' },
  { fused: true, layout: 'bsd' },
  { fused: false, layout: 'bnsh' },
] as const;

interface Inputs {
  q: C.Tensor;
  k: C.Tensor;
  v: C.Tensor;
  mask: C.Tensor | null;
}

function inputs(masked: boolean): Inputs {
  // [B, H, S, D] = [1, 4, 64, 16]: the shape ONNX Runtime 1.30's WebGPU MultiHeadAttention got wrong
  const q = C.randomNormal([1, 4, 64, 16], { seed: 11 });
  const k = C.randomNormal([1, 4, 48, 16], { seed: 12 });
  const v = C.randomNormal([1, 4, 48, 16], { seed: 13 });
  const mask = masked ? C.randomUniform([1, 1, 64, 48], { seed: 14, low: -3, high: 0 }) : null;
  return { q, k, v, mask };
}

const attend = (x: Inputs): C.Tensor => C.scaledDotProductAttention(x.q, x.k, x.v, { mask: x.mask });

async function onCpu(masked: boolean): Promise<Float32Array> {
  await C.setBackend('cpu');
  const x = inputs(masked);
  const y = attend(x);
  const d = (await y.data()) as Float32Array;
  C.dispose([y, x.q, x.k, x.v, ...(x.mask ? [x.mask] : [])]);
  return d;
}

describe.skipIf(noOrt)('fused and unfused attention on ort-cpu', async () => {
  const rt = noOrt ? null : await nodeRuntime('cpu');
  for (const { fused, layout } of VARIANTS) {
    const name = `ort-cpu-attention-${fused ? 'fused' : 'matmul'}-${layout}`;
    C.registerBackend(name, async () => createOrtBackend(name, rt!, false, 'float32', { fusedAttention: fused, attentionKvLayout: layout }) as unknown as C.Backend);
    for (const masked of [false, true]) {
      test(`${fused ? 'MultiHeadAttention' : 'MatMul-Softmax-MatMul'} (${layout} key/value)${masked ? ' with a mask' : ''} equals the cpu backend`, async () => {
        const want = await onCpu(masked);
        await C.setBackend(name);
        const x = inputs(masked);
        const y = attend(x);
        const ops = new TextDecoder().decode(lowerSegment(planSegment([y.handle as LazyValue], 'attention'), { fusedAttention: fused, attentionKvLayout: layout }).bytes);
        expect(ops.includes('MultiHeadAttention')).toBe(fused);
        expect(ops.includes('Softmax')).toBe(!fused);
        const got = (await y.data()) as Float32Array;
        let err = 0;
        for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i]! - want[i]!));
        expect(got.length).toBe(want.length);
        expect(err).toBeLessThan(1e-4);
        C.dispose([y, x.q, x.k, x.v, ...(x.mask ? [x.mask] : [])]);
      });
    }
  }
  afterAll(async () => {
    await C.setBackend('cpu');
  });
});
