import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import * as C from '@sdxs/core';
import { parseUNetConfig, UNet2DConditionModel, unknownUNetConfigKeys } from '@sdxs/unet';
import { diffusersCase } from '@sdxs/core/testing';

const tiny = (): C.ConfigObject => JSON.parse(readFileSync(path.join(diffusersCase('unet-tiny'), 'config.json'), 'utf8')) as C.ConfigObject;

beforeAll(async () => {
  await C.setBackend('cpu');
});

describe('UNet config', () => {
  test('parses the fixture: per-block heads, layers and transformer depth', () => {
    const c = parseUNetConfig(tiny());
    expect(c.numHeads).toEqual([2, 2, 4, 4]);
    expect(c.layersPerBlock).toEqual([2, 2, 1, 1]);
    expect(c.transformerLayersPerBlock).toEqual([1, 1, 2, 2]);
    expect(c.timeEmbedDim).toBe(32);
    expect(unknownUNetConfigKeys(tiny())).toEqual([]);
  });

  test('ints expand to one value per block', () => {
    const c = parseUNetConfig({ ...tiny(), layers_per_block: 2, transformer_layers_per_block: 3, attention_head_dim: 4, cross_attention_dim: 24 });
    expect(c.layersPerBlock).toEqual([2, 2, 2, 2]);
    expect(c.transformerLayersPerBlock).toEqual([3, 3, 3, 3]);
    expect(c.numHeads).toEqual([4, 4, 4, 4]);
  });

  test('the module tree has the checkpoint names and the real config has ~1.69 B parameters', () => {
    const real = {
      ...tiny(),
      block_out_channels: [320, 640, 1280, 1536],
      layers_per_block: [4, 3, 2, 2],
      transformer_layers_per_block: [2, 2, 3, 4],
      attention_head_dim: [5, 10, 20, 24],
      cross_attention_dim: 2048,
      norm_num_groups: 32,
    };
    const unet = UNet2DConditionModel.fromConfig(real);
    const names = unet.namedParameters().map(([k]) => k);
    expect(names).toContain('down_blocks.0.attentions.3.transformer_blocks.1.ff.net.0.proj.weight');
    expect(names).toContain('mid_block.attentions.0.transformer_blocks.3.attn2.to_k.weight');
    expect(names).toContain('up_blocks.1.attentions.2.transformer_blocks.2.attn1.to_out.0.bias');
    expect(names).not.toContain('up_blocks.0.attentions.0.norm.weight');
    const n = unet.numParameters();
    expect(n).toBeGreaterThan(1.6e9);
    expect(n).toBeLessThan(1.8e9);
  });

  const unsupported: [string, unknown][] = [
    ['class_embed_type', 'timestep'],
    ['num_class_embeds', 10],
    ['addition_embed_type', 'text_time'],
    ['addition_time_embed_dim', 256],
    ['encoder_hid_dim', 64],
    ['encoder_hid_dim_type', 'text_proj'],
    ['time_cond_proj_dim', 256],
    ['time_embedding_act_fn', 'silu'],
    ['timestep_post_act', 'silu'],
    ['time_embedding_type', 'fourier'],
    ['resnet_time_scale_shift', 'scale_shift'],
    ['resnet_skip_time_act', true],
    ['attention_type', 'gated'],
    ['cross_attention_norm', 'group_norm'],
    ['num_attention_heads', 8],
    ['dual_cross_attention', true],
    ['only_cross_attention', true],
    ['mid_block_only_cross_attention', true],
    ['class_embeddings_concat', true],
    ['act_fn', 'gelu'],
    ['mid_block_type', 'UNetMidBlock2DSimpleCrossAttn'],
    ['down_block_types', ['SimpleCrossAttnDownBlock2D', 'DownBlock2D', 'DownBlock2D', 'DownBlock2D']],
    ['up_block_types', ['UpBlock2D', 'AttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D']],
    ['transformer_layers_per_block', [[1, 1], 1, 2, 2]],
    ['reverse_transformer_layers_per_block', [[1, 1], [1], [1], [1]]],
    ['norm_num_groups', null],
    ['conv_in_kernel', 4],
    ['downsample_padding', 2],
  ];
  test.each(unsupported)('%s=%j raises "unsupported"', (key, value) => {
    const cfg = { ...tiny(), [key]: value };
    let err: unknown;
    try {
      UNet2DConditionModel.fromConfig(cfg);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(C.ConfigError);
    expect((err as Error).message).toMatch(new RegExp(`^unsupported: ${key}=`));
  });

  test('inconsistent lengths and head counts name the key', () => {
    expect(() => parseUNetConfig({ ...tiny(), layers_per_block: [1, 2] })).toThrow(/layers_per_block.*2 entries/);
    expect(() => parseUNetConfig({ ...tiny(), attention_head_dim: [3, 2, 4, 4] })).toThrow(/not divisible by 3 heads/);
    expect(() => parseUNetConfig({ ...tiny(), up_block_types: ['UpBlock2D'] })).toThrow(/must match/);
  });

  test.each([
    ['layers_per_block', 1e9],
    ['layers_per_block', [1, 1e9, 1, 1]],
    ['transformer_layers_per_block', 1e9],
    ['block_out_channels', [32, 64, 1e9, 64]],
    ['attention_head_dim', 1e9],
    ['cross_attention_dim', 1e9],
    ['norm_num_groups', -1],
    ['norm_num_groups', 0],
    ['norm_eps', -1],
    ['norm_eps', 0],
    ['in_channels', 0],
    ['out_channels', 1e9],
    ['time_embedding_dim', -8],
    ['conv_in_kernel', 1001],
  ])('%s=%j is a ConfigError naming the key', (key, value) => {
    let err: unknown;
    try {
      parseUNetConfig({ ...tiny(), [key]: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(C.ConfigError);
    expect((err as Error).message).toContain(`'${key}`);
  });
});
