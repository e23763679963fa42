import { expect, test } from 'vitest';
import * as C from '@sdxs/core';
import type { Tensor } from '@sdxs/core';
import { forEachBackend } from '@sdxs/core/testing';

/** Live tensors in tfjs's engine (all tfjs backends share one), or 0 when the backend is not tfjs. */
async function tfTensors(backend: string): Promise<number> {
  if (!backend.startsWith('tfjs-')) return 0;
  const tf = await import('@tensorflow/tfjs-core');
  return tf.memory().numTensors;
}

interface Weights {
  conv: Tensor[];
  bias: Tensor[];
  gn: Tensor[];
  qkv: Tensor;
  proj: Tensor;
}

function makeWeights(ch: number, blocks: number): Weights {
  const g = new C.RandomGenerator(3);
  const t = (shape: number[], std: number): Tensor => C.tensor(g.fillNormal(new Float32Array(shape.reduce((p, c) => p * c, 1)), 0, std), shape);
  const std = 1 / Math.sqrt(ch * 9);
  return {
    conv: Array.from({ length: blocks * 2 }, () => t([ch, ch, 3, 3], std)),
    bias: Array.from({ length: blocks * 2 }, () => t([ch], 0.1)),
    gn: Array.from({ length: blocks * 2 }, () => t([ch], 1)),
    qkv: t([3 * ch, ch], 1 / Math.sqrt(ch)),
    proj: t([ch, ch], 1 / Math.sqrt(ch)),
  };
}

/** ResNet blocks (GroupNorm, SiLU, conv) then a self-attention block, like one UNet/VAE stage. */
function forward(x: Tensor, w: Weights, heads: number): Tensor {
  return C.tidy(() => {
    let h = x;
    for (let i = 0; i < w.conv.length; i += 2) {
      let r = C.conv2d(C.silu(C.groupNorm(h, 8, w.gn[i]!, null, 1e-6)), w.conv[i]!, w.bias[i]!, { padding: 1 });
      r = C.conv2d(C.silu(C.groupNorm(r, 8, w.gn[i + 1]!, null, 1e-6)), w.conv[i + 1]!, w.bias[i + 1]!, { padding: 1 });
      h = C.add(h, r);
    }
    const [n, c, hh, ww] = h.shape as [number, number, number, number];
    const seq = C.transpose(C.reshape(h, [n, c, hh * ww]), [0, 2, 1]);
    const qkv = C.linear(seq, w.qkv);
    const [q, k, v] = C.split(qkv, 3, -1).map((t) => C.transpose(C.reshape(t, [n, hh * ww, heads, c / heads]), [0, 2, 1, 3]));
    const a = C.scaledDotProductAttention(q!, k!, v!);
    const o = C.linear(C.reshape(C.transpose(a, [0, 2, 1, 3]), [n, hh * ww, c]), w.proj);
    return C.add(h, C.reshape(C.transpose(o, [0, 2, 1]), [n, c, hh, ww]));
  });
}

forEachBackend((name) => {
  const small = name.endsWith('webgpu');
  const [ch, size, blocks] = small ? [32, 8, 2] : [64, 16, 3];

  test(`a ${blocks}-block conv/groupnorm/attention forward at [1,${ch},${size},${size}] leaves no tensor behind`, async () => {
    const sdxs0 = C.memory().numTensors;
    const tf0 = await tfTensors(name);
    const w = makeWeights(ch, blocks);
    const x = C.randomNormal([1, ch, size, size], { seed: 1 });
    const y1 = forward(x, w, 4);
    await y1.data();
    y1.dispose();
    const sdxs1 = C.memory().numTensors;
    const tf1 = await tfTensors(name);
    const y2 = forward(x, w, 4);
    const v = await y2.data();
    y2.dispose();
    expect(v.every((e) => Number.isFinite(e))).toBe(true);
    // a second forward adds nothing (cached conv weight layouts are per weight, made once)
    expect(C.memory().numTensors).toBe(sdxs1);
    expect(await tfTensors(name)).toBe(tf1);
    C.dispose([w, x]);
    expect(C.memory().numTensors).toBe(sdxs0);
    expect(await tfTensors(name)).toBe(tf0);
  });

  test('valueAndGrad through the same blocks leaves only value and grads', async () => {
    const sdxs0 = C.memory().numTensors;
    const tf0 = await tfTensors(name);
    const w = makeWeights(16, 1);
    const x = C.randomNormal([1, 16, 4, 4], { seed: 2 });
    const sdxsW = C.memory().numTensors;
    const { value, grads } = C.valueAndGrad(() => C.mean(C.square(forward(x, w, 2))), [x, w.conv[0]!, w.qkv]);
    expect(Number.isFinite((await value.data())[0]!)).toBe(true);
    expect(C.memory().numTensors).toBe(sdxsW + 4);
    C.dispose([value, grads]);
    expect(C.memory().numTensors).toBe(sdxsW);
    // tfjs also held each conv weight's cached HWIO layout until the weight itself was disposed
    C.dispose([w, x]);
    expect(C.memory().numTensors).toBe(sdxs0);
    expect(await tfTensors(name)).toBe(tf0);
  });
});
