import { describe, expect, test } from 'vitest';
import * as C from '@sdxs/core';
import { blendWeights, decodeTiled, encodeTiled, reflectIndex, tileAxis, type TiledModel } from '../src/index.js';
import { SharedGroupNormStats } from '../src/upscale/norm-stats.js';

/** A purely local stand-in for the VAE: encode = 8x8 average pooling, decode = 16x nearest upsampling. */
class LocalModel extends C.Module implements TiledModel {
  readonly config = { latentChannels: 3, outChannels: 3 };
  readonly encoderScale = 8;
  readonly decoderScale = 16;
  encode(x: C.Tensor): { mean: C.Tensor; logvar: C.Tensor } {
    const [n, c, h, w] = x.shape as [number, number, number, number];
    const mean = C.tidy(() => C.mean(C.reshape(x, [n, c, h / 8, 8, w / 8, 8]), [3, 5]));
    return { mean, logvar: C.zeros(mean.shape) };
  }
  decode(z: C.Tensor): C.Tensor {
    return C.upsampleNearest2d(z, 16);
  }
}

describe('tile layout and blending', () => {
  test('tiles cover the axis, the last one aligned to the end', () => {
    expect(tileAxis(100, 128, 32)).toEqual({ starts: [0], length: 100 });
    expect(tileAxis(256, 128, 32)).toEqual({ starts: [0, 96, 128], length: 128 });
    expect(tileAxis(152, 64, 16).starts).toEqual([0, 48, 88]);
    expect(() => tileAxis(100, 32, 32)).toThrow(C.InputError);
  });

  test('blend weights sum to one everywhere and ramp only inside overlaps', () => {
    for (const [size, tile, ov] of [[256, 128, 32], [152, 64, 16], [1000, 96, 40]] as const) {
      const a = tileAxis(size, tile, ov);
      const w = blendWeights(a, size);
      const total = new Float64Array(size);
      a.starts.forEach((s, i) => w[i]!.forEach((v, x) => (total[s + x]! += v)));
      for (const t of total) expect(t).toBeCloseTo(1, 6);
      expect(w[0]![0]).toBe(1); // no ramp at the image border
      expect(w[w.length - 1]![tile - 1]).toBe(1);
    }
  });

  test('reflect indices mirror without repeating the edge, for any padding', () => {
    expect([-2, -1, 0, 1, 2, 3, 4, 5].map((i) => reflectIndex(i, 4))).toEqual([2, 1, 0, 1, 2, 3, 2, 1]);
    expect([0, 1, 2, 7].map((i) => reflectIndex(i, 1))).toEqual([0, 0, 0, 0]);
    expect([0, 1, 2, 3, 4].map((i) => reflectIndex(i, 2))).toEqual([0, 1, 0, 1, 0]);
  });

  test('with a local model, tiled encode/decode equals the untiled result exactly (float rounding only)', async () => {
    await C.setBackend('cpu');
    const m = new LocalModel();
    const [n, h, w] = [2, 72, 120];
    const img = new Float32Array(n * 3 * h * w).map((_, i) => Math.sin(i * 0.37) * 0.9);
    const before = C.memory().numTensors;
    const whole = await encodeTiled(m, img, [n, 3, h, w], { tile: 0, overlap: 0 });
    const tiled = await encodeTiled(m, img, [n, 3, h, w], { tile: 32, overlap: 16 });
    const dWhole = await decodeTiled(m, whole, [n, 3, h / 8, w / 8], { tile: 0, overlap: 0 });
    const dTiled = await decodeTiled(m, tiled, [n, 3, h / 8, w / 8], { tile: 32, overlap: 8 });
    expect(C.memory().numTensors).toBe(before);
    let max = 0;
    whole.forEach((v, i) => (max = Math.max(max, Math.abs(v - tiled[i]!))));
    dWhole.forEach((v, i) => (max = Math.max(max, Math.abs(v - dTiled[i]!))));
    expect(dTiled.length).toBe(n * 3 * h * 2 * w * 2);
    expect(max).toBeLessThan(1e-6);
  });

  test('shared GroupNorm statistics: tiles normalised with whole-image statistics equal the whole-image GroupNorm', async () => {
    await C.setBackend('cpu');
    class Net extends C.Module {
      readonly norm = new C.nn.GroupNorm(2, 4, 1e-6);
    }
    const net = new Net();
    net.norm.weight!.set(C.tensor([1, 2, 3, 4], [4]));
    net.norm.bias!.set(C.tensor([0, 1, 0, -1], [4]));
    const x = C.randomNormal([1, 4, 6, 8], { seed: 3 });
    const halves = [C.sliceAxis(x, 3, 0, 4), C.sliceAxis(x, 3, 4, 8)];
    const ref = net.norm.forward(x);
    const stats = new SharedGroupNormStats(net);
    stats.mode = 'record';
    for (const part of halves) net.norm.forward(part).dispose();
    stats.mode = 'apply';
    const right = net.norm.forward(halves[1]!);
    const expected = C.sliceAxis(ref, 3, 4, 8);
    const a = (await right.data()) as Float32Array;
    const b = (await expected.data()) as Float32Array;
    let max = 0;
    a.forEach((v, i) => (max = Math.max(max, Math.abs(v - b[i]!))));
    expect(max).toBeLessThan(1e-5);
    stats.uninstall();
    const own = net.norm.forward(halves[1]!);
    expect(Math.abs(((await own.data()) as Float32Array)[0]! - a[0]!)).toBeGreaterThan(1e-4);
    C.dispose([x, halves, ref, right, expected, own]);
    net.dispose();
  });
});
