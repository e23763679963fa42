import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@sdxs/core';
import { parseQwen35Config } from '../src/index.js';
import { MODEL_CASES, caseDir, skipWithoutCase } from './qwen-fixtures.js';

const readJson = (file: string): Record<string, unknown> => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;

describe.each(MODEL_CASES.filter((n) => !skipWithoutCase(n)))('%s config', (name) => {
  const text = readJson(path.join(caseDir(name), 'config.json'));
  const vlm = readJson(path.join(caseDir(name), 'config_vlm.json'));

  it('text and VLM (text_config) forms give the same config', () => {
    expect(parseQwen35Config(vlm)).toEqual(parseQwen35Config(text));
  });

  it('reads every value from the file', () => {
    const c = parseQwen35Config(text);
    expect(c.layerTypes).toEqual(text.layer_types);
    expect(c.numHiddenLayers).toBe(text.num_hidden_layers);
    expect(c.hiddenSize).toBe(text.hidden_size);
    expect(c.intermediateSize).toBe(text.intermediate_size);
    expect(c.vocabSize).toBe(text.vocab_size);
    expect(c.numAttentionHeads).toBe(text.num_attention_heads);
    expect(c.numKeyValueHeads).toBe(text.num_key_value_heads);
    expect(c.headDim).toBe(text.head_dim);
    expect(c.linearNumKeyHeads).toBe(text.linear_num_key_heads);
    expect(c.linearNumValueHeads).toBe(text.linear_num_value_heads);
    expect(c.linearKeyHeadDim).toBe(text.linear_key_head_dim);
    expect(c.linearValueHeadDim).toBe(text.linear_value_head_dim);
    expect(c.linearConvKernelDim).toBe(text.linear_conv_kernel_dim);
    expect(c.rmsNormEps).toBe(text.rms_norm_eps);
    expect(c.tieWordEmbeddings).toBe(text.tie_word_embeddings);
    const rp = text.rope_parameters as Record<string, number>;
    expect(c.ropeTheta).toBe(rp.rope_theta);
    expect(c.partialRotaryFactor).toBe(rp.partial_rotary_factor);
    expect(c.rotaryDim).toBe(Math.floor((text.head_dim as number) * rp.partial_rotary_factor!));
  });
});

describe('config defaults and refusals', () => {
  const base = (): Record<string, unknown> => ({
    model_type: 'qwen3_5_text',
    hidden_size: 32,
    intermediate_size: 64,
    num_hidden_layers: 8,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    head_dim: 16,
    linear_num_key_heads: 2,
    linear_num_value_heads: 4,
    linear_key_head_dim: 8,
    linear_value_head_dim: 8,
    vocab_size: 100,
    rope_theta: 1e6,
    partial_rotary_factor: 0.5,
  });

  it('derives layer_types from full_attention_interval and reads top-level rope keys', () => {
    const c = parseQwen35Config({ ...base(), full_attention_interval: 2 });
    expect(c.layerTypes).toEqual(['linear_attention', 'full_attention', 'linear_attention', 'full_attention', 'linear_attention', 'full_attention', 'linear_attention', 'full_attention']);
    expect(c.ropeTheta).toBe(1e6);
    expect(c.rotaryDim).toBe(8);
    expect(parseQwen35Config(base()).layerTypes.filter((t) => t === 'full_attention').length).toBe(2);
  });

  const refusals: [string, Record<string, unknown>][] = [
    ['hidden_act', { hidden_act: 'gelu' }],
    ['attention_bias', { attention_bias: true }],
    ['layer_types[2]', { layer_types: ['linear_attention', 'linear_attention', 'sliding_attention', 'full_attention', 'linear_attention', 'linear_attention', 'linear_attention', 'full_attention'] }],
    ['layer_types', { layer_types: ['full_attention'] }],
    ['rope_parameters.rope_type', { rope_parameters: { rope_type: 'yarn', rope_theta: 1e6 } }],
    ['num_key_value_heads', { num_key_value_heads: 3 }],
    ['linear_num_value_heads', { linear_num_value_heads: 3 }],
    ['hidden_size', { hidden_size: 'big' }],
    ['model_type', { model_type: 'llama' }],
    ['tie_word_embeddings', { tie_word_embeddings: 'yes' }],
    // absurd sizes: refused at once, not a heap exhaustion minutes later
    ['num_hidden_layers', { num_hidden_layers: 1e9 }],
    ['vocab_size', { vocab_size: 1e9 }],
    ['hidden_size', { hidden_size: 1e7 }],
    ['intermediate_size', { intermediate_size: 1e9 }],
    ['head_dim', { head_dim: 1e6 }],
    ['num_attention_heads', { num_attention_heads: 1e6 }],
    ['linear_conv_kernel_dim', { linear_conv_kernel_dim: 1e6 }],
    ['max_position_embeddings', { max_position_embeddings: 1e12 }],
    ['rms_norm_eps', { rms_norm_eps: -1 }],
    ['rms_norm_eps', { rms_norm_eps: 5 }],
    ['hidden_size', { hidden_size: -4 }],
  ];
  it.each(refusals)('refuses a bad %s with a ConfigError naming it', (key, patch) => {
    expect(() => parseQwen35Config({ ...base(), ...patch })).toThrow(ConfigError);
    expect(() => parseQwen35Config({ ...base(), ...patch })).toThrow(`'${key}'`);
  });

  it('names text_config keys of a VLM config with their path', () => {
    expect(() => parseQwen35Config({ model_type: 'qwen3_5', text_config: { ...base(), hidden_act: 'relu' } })).toThrow("'text_config.hidden_act'");
    expect(() => parseQwen35Config({ model_type: 'qwen3_5' })).toThrow("'text_config'");
  });
});
