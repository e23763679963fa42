import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as C from '@sdxs/core';
import { maxAbsDiff } from '@sdxs/core/testing';
import { Qwen35ForCausalLM, Qwen35TextModel, parseQwen35Config } from '../src/index.js';
import { caseDir, skipWithoutCase } from './qwen-fixtures.js';

const NAME = 'qwen35-small-untied';

/** The fixture checkpoint's tensors, renamed and extended, as an in-memory safetensors file. */
async function variant(rename: (k: string) => string, extra: C.SafetensorsTensorMap = {}): Promise<C.SafetensorsFile> {
  const src = await C.loadSafetensors(path.join(caseDir(NAME), 'model.safetensors'));
  const map: C.SafetensorsTensorMap = { ...extra };
  for (const k of src.names()) {
    const info = src.info(k);
    map[rename(k)] = { dtype: info.dtype, shape: [...info.shape], data: await src.readTyped(k) };
  }
  await src.close();
  return C.loadSafetensors(C.serializeSafetensors(map));
}

describe.skipIf(skipWithoutCase(NAME))('loading', () => {
  let reference: Qwen35ForCausalLM;
  let refLogits: Float32Array;
  const ids = [[3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8]];
  beforeAll(async () => {
    await C.setBackend('cpu');
    reference = await Qwen35ForCausalLM.fromPretrained(caseDir(NAME));
    const out = reference.forward(ids);
    refLogits = (await out.logits.data()) as Float32Array;
    C.dispose(out);
  });
  afterAll(() => reference?.dispose());

  it('module names are the checkpoint names (Qwen3_5ForCausalLM layout)', async () => {
    const file = await C.loadSafetensors(path.join(caseDir(NAME), 'model.safetensors'));
    const names = reference.namedParameters().map(([n]) => n.replace(/^model\./, 'model.language_model.')).sort();
    expect(names).toEqual([...file.names()].sort());
    await file.close();
  });

  it('skips vision-tower and MTP tensors without reading them', async () => {
    const f32 = (n: number): Float32Array => new Float32Array(n).fill(1);
    const file = await variant((k) => k, {
      'model.visual.blocks.0.attn.qkv.weight': { dtype: 'F32', shape: [6, 2], data: f32(12) },
      'model.visual.merger.linear_fc1.weight': { dtype: 'F32', shape: [2, 2], data: f32(4) },
      'mtp.fc.weight': { dtype: 'F32', shape: [2, 2], data: f32(4) },
    });
    const readTyped = file.readTyped.bind(file);
    const touched: string[] = [];
    file.readTyped = (name, ...rest) => {
      if (!name.startsWith('model.language_model.') && name !== 'lm_head.weight') touched.push(name);
      return readTyped(name, ...rest);
    };
    const lm = new Qwen35ForCausalLM(reference.config);
    await lm.loadFrom([file]);
    expect(touched).toEqual([]);
    const out = lm.forward(ids);
    expect(maxAbsDiff((await out.logits.data()) as Float32Array, refLogits)).toBe(0);
    C.dispose(out);
    lm.dispose();
  });

  it("accepts a causal-LM checkpoint ('model.' prefix)", async () => {
    const file = await variant((k) => k.replace('model.language_model.', 'model.'));
    const lm = new Qwen35ForCausalLM(reference.config);
    await lm.loadFrom([file]);
    const out = lm.forward(ids);
    expect(maxAbsDiff((await out.logits.data()) as Float32Array, refLogits)).toBe(0);
    C.dispose(out);
    lm.dispose();
  });

  it('reports unexpected, missing and mis-shaped tensors', async () => {
    const file = await variant((k) => (k.endsWith('layers.0.mlp.up_proj.weight') ? k.replace('up_proj', 'upper_proj') : k));
    const m = new Qwen35TextModel(reference.config);
    await expect(m.loadFrom([file])).rejects.toThrow(/missing.*up_proj|unexpected.*upper_proj/);
    m.dispose();
    const small = parseQwen35Config({ model_type: 'qwen3_5_text', ...configJson(reference), intermediate_size: 80 });
    const m2 = new Qwen35TextModel(small);
    await expect(m2.loadFrom([await variant((k) => k)])).rejects.toThrow(C.CheckpointError);
    m2.dispose();
  });

  it('keeps 16-bit storage (bfloat16) and stays close to float32', async () => {
    const lm = await Qwen35ForCausalLM.fromPretrained(caseDir(NAME), { dtype: 'bfloat16' });
    expect(lm.model.embed_tokens.weight.value.dtype).toBe('bfloat16');
    expect(lm.lm_head!.weight.value.dtype).toBe('bfloat16');
    const before = C.memory().numTensors;
    const out = lm.forward(ids);
    const got = (await out.logits.data()) as Float32Array;
    C.dispose(out);
    expect(C.memory().numTensors).toBe(before);
    // the same numbers as float32 weights holding the bf16-rounded values (compute is float32 either way)
    const rounded = new Qwen35ForCausalLM(lm.config);
    const src = new Map(lm.namedParameters());
    for (const [k, p] of rounded.namedParameters()) p.set(C.cast(src.get(k)!.value, 'float32'));
    const exact = rounded.forward(ids);
    expect(maxAbsDiff(got, (await exact.logits.data()) as Float32Array)).toBeLessThan(1e-5);
    C.dispose(exact);
    rounded.dispose();
    expect((await lm.generate(ids[0]!, { maxNewTokens: 4, eosTokenIds: [] })).length).toBe(4);
    lm.dispose();
  });
});

function configJson(lm: Qwen35ForCausalLM): Record<string, unknown> {
  const c = lm.config;
  return {
    vocab_size: c.vocabSize,
    hidden_size: c.hiddenSize,
    intermediate_size: c.intermediateSize,
    num_hidden_layers: c.numHiddenLayers,
    layer_types: c.layerTypes,
    num_attention_heads: c.numAttentionHeads,
    num_key_value_heads: c.numKeyValueHeads,
    head_dim: c.headDim,
    linear_num_key_heads: c.linearNumKeyHeads,
    linear_num_value_heads: c.linearNumValueHeads,
    linear_key_head_dim: c.linearKeyHeadDim,
    linear_value_head_dim: c.linearValueHeadDim,
    linear_conv_kernel_dim: c.linearConvKernelDim,
    rms_norm_eps: c.rmsNormEps,
    rope_theta: c.ropeTheta,
    partial_rotary_factor: c.partialRotaryFactor,
    tie_word_embeddings: c.tieWordEmbeddings,
  };
}
