import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import * as C from '@sdxs/core';
import { UNet2DConditionModel } from '@sdxs/unet';
import { expectClose, maxAbsDiff } from '@sdxs/core/testing';
import { diffusersCase, host, readAll } from '@sdxs/core/testing';

let unet: UNet2DConditionModel;
const dir = diffusersCase('unet-tiny');

beforeAll(async () => {
  await C.setBackend('cpu');
  unet = await UNet2DConditionModel.fromPretrained(dir);
});

const ctx = (b: number, s: number, seed: number): C.Tensor => C.randomNormal([b, s, 24], { seed });

describe('UNet forward', () => {
  test.each([
    [1, 1],
    [5, 7],
    [9, 13],
    [16, 24],
    [3, 17],
  ])('latent %ix%i keeps its size (upsampling follows the skip sizes)', async (h, w) => {
    const x = C.randomNormal([1, 32, h, w], { seed: h * 100 + w });
    const c = ctx(1, 4, 1);
    const before = C.memory().numTensors;
    const y = unet.forward(x, 500, c);
    expect(y.shape).toEqual([1, 32, h, w]);
    expect((await host(y)).every(Number.isFinite)).toBe(true);
    y.dispose();
    expect(C.memory().numTensors).toBe(before);
    C.dispose([x, c]);
  });

  test('a batch equals its items run one by one (per-item timesteps and masks)', async () => {
    const io = await readAll(path.join(dir, 'io.safetensors'));
    const [x, t, e, m] = ['sample', 'timestep', 'encoder_hidden_states', 'encoder_attention_mask'].map((k) => io.get(k)!) as [C.Tensor, C.Tensor, C.Tensor, C.Tensor];
    const full = await host(unet.forward(x, t, e, m));
    const tv = await host(t);
    for (let i = 0; i < 2; i++) {
      const one = C.tidy(() => unet.forward(C.sliceAxis(x, 0, i, i + 1), tv[i]!, C.sliceAxis(e, 0, i, i + 1), C.sliceAxis(m, 0, i, i + 1)));
      const n = one.size;
      expectClose(await host(one), full.subarray(i * n, (i + 1) * n), 1e-5, 1e-5, `item ${i}`);
      one.dispose();
    }
    C.dispose([...io.values()]);
  });

  test('masked tokens are ignored; an all-ones mask equals no mask', async () => {
    const x = C.randomNormal([1, 32, 4, 6], { seed: 3 });
    const a = C.randomNormal([1, 6, 24], { seed: 4 });
    // same first 3 tokens, different last 3
    const b = C.tidy(() => C.concat([C.sliceAxis(a, 1, 0, 3), C.randomNormal([1, 3, 24], { seed: 5 })], 1));
    const mask = C.tensor([1, 1, 1, 0, 0, 0], [1, 6]);
    const ya = await host(unet.forward(x, 250.5, a, mask));
    const yb = await host(unet.forward(x, 250.5, b, mask));
    expect(maxAbsDiff(ya, yb)).toBeLessThan(1e-6);
    const unmaskedB = await host(unet.forward(x, 250.5, b));
    expect(maxAbsDiff(ya, unmaskedB)).toBeGreaterThan(1e-4);
    const ones = await host(unet.forward(x, 250.5, a, C.ones([1, 6])));
    const none = await host(unet.forward(x, 250.5, a));
    expect(maxAbsDiff(ones, none)).toBe(0);
  });

  test('a number timestep, a [1] tensor and a [B] tensor agree', async () => {
    const x = C.randomNormal([2, 32, 4, 4], { seed: 6 });
    const e = ctx(2, 3, 7);
    const a = await host(unet.forward(x, 731.25, e));
    const b = await host(unet.forward(x, C.tensor([731.25], [1]), e));
    const c = await host(unet.forward(x, C.tensor([731.25, 731.25], [2]), e));
    expect(maxAbsDiff(a, b)).toBe(0);
    expect(maxAbsDiff(a, c)).toBe(0);
  });

  test('bad inputs are rejected with the expected shapes', () => {
    const x = C.zeros([2, 32, 4, 4]);
    expect(() => unet.forward(C.zeros([2, 4, 4, 4]), 1, ctx(2, 3, 1))).toThrow(/\[B, 32, H, W\]/);
    expect(() => unet.forward(x, 1, ctx(1, 3, 1))).toThrow(/encoderHiddenStates must be \[2, S, D\]/);
    expect(() => unet.forward(x, 1, ctx(2, 3, 1), C.ones([2, 4]))).toThrow(/encoderAttentionMask must be \[2, 3\]/);
    expect(() => unet.forward(x, C.zeros([3]), ctx(2, 3, 1))).toThrow(/timestep/);
  });

  test.each(['float16', 'bfloat16'] as const)('%s storage halves resident bytes and stays close to float32', async (dtype) => {
    const half = await UNet2DConditionModel.fromPretrained(dir, { dtype });
    expect(half.residentBytes * 2).toBe(unet.residentBytes);
    expect(unet.residentBytes).toBe(unet.numParameters() * 4);
    const io = await readAll(path.join(dir, 'io.safetensors'));
    const before = C.memory().numTensors;
    const y = half.forward(io.get('sample')!, io.get('timestep')!, io.get('encoder_hidden_states')!, io.get('encoder_attention_mask')!);
    const [a, b] = [await host(y), await host(io.get('out')!)];
    let num = 0;
    let den = 0;
    for (let i = 0; i < a.length; i++) {
      num += (a[i]! - b[i]!) ** 2;
      den += b[i]! ** 2;
    }
    const rel = Math.sqrt(num / den);
    console.log(`unet-tiny with ${dtype} weights: max |err| ${maxAbsDiff(a, b).toExponential(2)}, relative L2 ${rel.toExponential(2)}`);
    // 16-bit rounding of the weights (2^-11 float16, 2^-8 bfloat16 relative), amplified through ~20 layers
    expect(rel).toBeLessThan(dtype === 'float16' ? 5e-3 : 4e-2);
    y.dispose();
    expect(C.memory().numTensors).toBe(before);
    half.dispose();
    C.dispose([...io.values()]);
  });

  test('missing and mis-shaped checkpoint tensors are reported', async () => {
    const cfg = await C.loadConfig(dir);
    const other = UNet2DConditionModel.fromConfig({ ...cfg, layers_per_block: [2, 2, 1, 2] });
    const file = await C.openCheckpoint(dir, 'diffusion_pytorch_model');
    await expect(other.loadWeights(file)).rejects.toThrow(/missing: .*down_blocks\.3\.resnets\.1/);
    await file.close();
  });
});
