import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import * as C from '@sdxs/core';
import {
  CrossAttnDownBlock2D,
  CrossAttnUpBlock2D,
  DownBlock,
  DownBlock2D,
  getDownBlock,
  getMidBlock,
  getUpBlock,
  UNet2DConditionModel,
  UNetMidBlock2DCrossAttn,
  UpBlock2D,
  type BlockContext,
} from '@sdxs/unet';
import { diffusersCase } from '@sdxs/core/testing';

const dir = diffusersCase('unet-tiny');
const tiny = (): C.ConfigObject => JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')) as C.ConfigObject;
const k: BlockContext = { tembChannels: 16, groups: 2, eps: 1e-5, heads: 2, transformerLayers: 1, crossAttentionDim: 8, useLinearProjection: true };

beforeAll(async () => {
  await C.setBackend('cpu');
});

describe("diffusers' block classes, built from the config's block types", () => {
  test('each down/up block is the class its type names, and the mid block is UNetMidBlock2DCrossAttn', () => {
    const cfg = tiny();
    const unet = UNet2DConditionModel.fromConfig(cfg);
    const names = (xs: readonly C.Module[]): string[] => xs.map((b) => b.constructor.name);
    expect(names(unet.down_blocks.items as C.Module[])).toEqual(cfg.down_block_types);
    expect(names(unet.up_blocks.items as C.Module[])).toEqual(cfg.up_block_types);
    expect(unet.mid_block).toBeInstanceOf(UNetMidBlock2DCrossAttn);
    unet.dispose();
  });

  test('the checkpoint keys are those of the fixture checkpoint', async () => {
    const unet = UNet2DConditionModel.fromConfig(tiny());
    const file = await C.openCheckpoint(dir, 'diffusion_pytorch_model');
    try {
      expect(unet.namedParameters().map(([n]) => n).sort()).toEqual([...file.names()].sort());
    } finally {
      await file.close();
      unet.dispose();
    }
  });

  test('the factories build each type and refuse an unknown one with a ConfigError naming it', () => {
    const down = { inChannels: 4, outChannels: 4, layers: 1, addDownsample: true, downsamplePadding: 1 };
    const up = { inChannels: 4, prevOutputChannels: 4, outChannels: 4, layers: 2, addUpsample: false };
    expect(getDownBlock('CrossAttnDownBlock2D', down, k)).toBeInstanceOf(CrossAttnDownBlock2D);
    const plain = getDownBlock('DownBlock2D', down, k);
    expect(plain).toBeInstanceOf(DownBlock2D);
    expect(plain.attentions).toBeUndefined();
    expect(getUpBlock('CrossAttnUpBlock2D', up, k)).toBeInstanceOf(CrossAttnUpBlock2D);
    expect(getUpBlock('UpBlock2D', up, k)).toBeInstanceOf(UpBlock2D);
    expect(getMidBlock('UNetMidBlock2DCrossAttn', 4, 1, k)).toBeInstanceOf(UNetMidBlock2DCrossAttn);
    for (const f of [() => getDownBlock('AttnDownBlock2D', down, k), () => getUpBlock('toString', up, k), () => getMidBlock('UNetMidBlock2D', 4, 1, k)]) {
      expect(f).toThrow(C.ConfigError);
    }
    expect(() => getDownBlock('AttnDownBlock2D', down, k)).toThrow(/down_block_types="AttnDownBlock2D" \(known: CrossAttnDownBlock2D, DownBlock2D\)/);
  });

  test('the deprecated DownBlock keeps its old constructor and the same keys', () => {
    const down = { inChannels: 4, outChannels: 4, layers: 1, addDownsample: true, downsamplePadding: 1 };
    const old = new DownBlock({ ...down, withAttention: true }, k);
    const now = new CrossAttnDownBlock2D(down, k);
    expect(old.namedParameters().map(([n]) => n)).toEqual(now.namedParameters().map(([n]) => n));
  });
});
