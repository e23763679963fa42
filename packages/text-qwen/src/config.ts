/**
 * Qwen3.5 text config (`Qwen3_5TextConfig`): parsed from a text `config.json` (`model_type: "qwen3_5_text"`) or
 * from the `text_config` object of a VLM `config.json` (`model_type: "qwen3_5"`). Every value comes from the
 * file (class defaults only where transformers has one); values the model cannot honour are refused with a
 * ConfigError naming the key.
 */
import { CONFIG_LIMITS as L, ConfigError, ConfigReader, isConfigObject, previewValue, type ConfigObject } from '@sdxs/core';

export type Qwen35LayerType = 'linear_attention' | 'full_attention';

export interface Qwen35TextConfig {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numHiddenLayers: number;
  layerTypes: Qwen35LayerType[];
  numAttentionHeads: number;
  numKeyValueHeads: number;
  headDim: number;
  linearNumKeyHeads: number;
  linearNumValueHeads: number;
  linearKeyHeadDim: number;
  linearValueHeadDim: number;
  linearConvKernelDim: number;
  rmsNormEps: number;
  ropeTheta: number;
  partialRotaryFactor: number;
  /** int(headDim * partialRotaryFactor): the rotated leading dims of q and k. */
  rotaryDim: number;
  tieWordEmbeddings: boolean;
  maxPositionEmbeddings: number;
  /** eos ids of the config (may be empty). */
  eosTokenIds: number[];
  /**
   * Multimodal rope: rotary frequencies given to the (temporal, height, width) position rows, interleaved
   * (`rope_parameters.mrope_section`, default [11, 11, 10]). Text-only positions are equal on all three rows,
   * which makes this plain RoPE.
   */
  mropeSection: [number, number, number];
}

function textSection(json: ConfigObject, file: string): { obj: ConfigObject; path: string; outer: ConfigObject | null } {
  const modelType = json.model_type;
  if (isConfigObject(json.text_config)) return { obj: json.text_config, path: 'text_config.', outer: json };
  if (modelType === 'qwen3_5') throw new ConfigError(`${file}: key 'text_config' is missing from a qwen3_5 (VLM) config`);
  return { obj: json, path: '', outer: null };
}

/** Parse a Qwen3.5 `config.json` (text or VLM form). `file` names the source in errors. */
export function parseQwen35Config(json: unknown, file = 'config.json'): Qwen35TextConfig {
  const top = ConfigReader.of(json, file).obj;
  const { obj, path, outer } = textSection(top, file);
  const r: ConfigReader = new ConfigReader(obj, file, path);

  const modelType = r.raw('model_type');
  if (modelType !== undefined && modelType !== 'qwen3_5_text' && modelType !== 'qwen3_5') {
    r.fail('model_type', `is ${previewValue(modelType)}; expected "qwen3_5_text"`);
  }

  const numHiddenLayers = r.integer('num_hidden_layers', 32, 1, L.layers);
  let layerTypes: Qwen35LayerType[];
  const lt = r.raw('layer_types');
  if (lt === undefined) {
    const interval = r.integer('full_attention_interval', 4, 1, L.layers);
    layerTypes = Array.from({ length: numHiddenLayers }, (_, i) => ((i + 1) % interval === 0 ? 'full_attention' : 'linear_attention'));
  } else {
    if (!Array.isArray(lt)) r.fail('layer_types', 'must be an array of strings');
    if (lt.length !== numHiddenLayers) r.fail('layer_types', `has ${lt.length} entries but num_hidden_layers is ${numHiddenLayers}`);
    layerTypes = lt.map((v, i) => {
      if (v !== 'linear_attention' && v !== 'full_attention') r.fail(`layer_types[${i}]`, `is ${previewValue(v)}; supported: "linear_attention", "full_attention"`);
      return v;
    });
  }

  const act = r.string('hidden_act', 'silu');
  if (act !== 'silu') r.fail('hidden_act', `is ${previewValue(act)}; only "silu" is supported`);
  if (r.boolean('attention_bias', false)) r.fail('attention_bias', 'is true; biased q/k/v/o projections are not supported');
  const gate = r.raw('attn_output_gate');
  if (gate !== undefined && gate !== true) r.fail('attn_output_gate', `is ${previewValue(gate)}; Qwen3.5 attention always gates its output`);

  // rope: rope_parameters (new form) or top-level rope_theta / partial_rotary_factor (older form).
  const rpRaw = r.raw('rope_parameters') ?? r.raw('rope_scaling');
  let ropeTheta: number;
  let partial: number;
  let mropeSection: [number, number, number] = [11, 11, 10];
  if (rpRaw !== undefined) {
    if (!isConfigObject(rpRaw)) r.fail('rope_parameters', 'must be an object');
    const rp: ConfigReader = new ConfigReader(rpRaw, file, `${path}rope_parameters.`);
    const type = rp.raw('rope_type') ?? rp.raw('type') ?? 'default';
    if (type !== 'default') rp.fail('rope_type', `is ${previewValue(type)}; only "default" (unscaled) rope is supported`);
    ropeTheta = rp.number('rope_theta', r.number('rope_theta', 10000));
    partial = rp.number('partial_rotary_factor', r.number('partial_rotary_factor', 0.25));
    const interleaved = rp.raw('mrope_interleaved');
    if (interleaved !== undefined && typeof interleaved !== 'boolean') rp.fail('mrope_interleaved', 'must be true or false');
    const section = rp.raw('mrope_section');
    if (section !== undefined) {
      if (!Array.isArray(section) || section.length !== 3 || !section.every((v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= L.headDim)) {
        rp.fail('mrope_section', `must be three non-negative integers, got ${previewValue(section)}`);
      }
      mropeSection = [section[0], section[1], section[2]];
    }
  } else {
    ropeTheta = r.number('rope_theta', 10000);
    partial = r.number('partial_rotary_factor', 0.25);
  }
  if (!(ropeTheta > 0)) r.fail('rope_parameters.rope_theta', `must be > 0, got ${ropeTheta}`);
  if (!(partial > 0 && partial <= 1)) r.fail('partial_rotary_factor', `must be in (0, 1], got ${partial}`);

  const numAttentionHeads = r.integer('num_attention_heads', 16, 1, L.heads);
  const numKeyValueHeads = r.integer('num_key_value_heads', 4, 1, L.heads);
  if (numAttentionHeads % numKeyValueHeads !== 0) {
    r.fail('num_key_value_heads', `(${numKeyValueHeads}) must divide num_attention_heads (${numAttentionHeads})`);
  }
  const headDim = r.integer('head_dim', 256, 1, L.headDim);
  const rotaryDim = Math.floor(headDim * partial);
  if (rotaryDim % 2 !== 0 || rotaryDim < 2) r.fail('partial_rotary_factor', `gives an odd or empty rotary dim ${rotaryDim} for head_dim ${headDim}`);
  const linearNumKeyHeads = r.integer('linear_num_key_heads', 16, 1, L.heads);
  const linearNumValueHeads = r.integer('linear_num_value_heads', 32, 1, L.heads);
  if (linearNumValueHeads % linearNumKeyHeads !== 0) {
    r.fail('linear_num_value_heads', `(${linearNumValueHeads}) must be a multiple of linear_num_key_heads (${linearNumKeyHeads})`);
  }

  const tieInner = r.raw('tie_word_embeddings');
  const tieOuter = outer ? outer.tie_word_embeddings : undefined;
  const tie = typeof tieInner === 'boolean' ? tieInner : typeof tieOuter === 'boolean' ? tieOuter : false;
  if (tieInner !== undefined && typeof tieInner !== 'boolean') r.fail('tie_word_embeddings', 'must be true or false');

  const eosRaw = r.raw('eos_token_id') ?? (outer ? outer.eos_token_id ?? undefined : undefined);
  let eosTokenIds: number[] = [];
  if (eosRaw !== undefined && eosRaw !== null) {
    const list = Array.isArray(eosRaw) ? eosRaw : [eosRaw];
    if (!list.every((v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0)) r.fail('eos_token_id', 'must be an integer or a list of integers');
    eosTokenIds = list as number[];
  }

  const eps = r.number('rms_norm_eps', 1e-6);
  if (!(eps > 0 && eps < 1)) r.fail('rms_norm_eps', `must be in (0, 1), got ${eps}`);

  return {
    vocabSize: r.integer('vocab_size', 248320, 1, L.vocab),
    hiddenSize: r.integer('hidden_size', 4096, 1, L.channels),
    intermediateSize: r.integer('intermediate_size', 12288, 1, L.intermediate),
    numHiddenLayers,
    layerTypes,
    numAttentionHeads,
    numKeyValueHeads,
    headDim,
    linearNumKeyHeads,
    linearNumValueHeads,
    linearKeyHeadDim: r.integer('linear_key_head_dim', 128, 1, L.headDim),
    linearValueHeadDim: r.integer('linear_value_head_dim', 128, 1, L.headDim),
    linearConvKernelDim: r.integer('linear_conv_kernel_dim', 4, 1, L.kernel),
    rmsNormEps: eps,
    ropeTheta,
    partialRotaryFactor: partial,
    rotaryDim,
    tieWordEmbeddings: tie,
    maxPositionEmbeddings: r.integer('max_position_embeddings', 32768, 1, L.positions),
    eosTokenIds,
    mropeSection,
  };
}
