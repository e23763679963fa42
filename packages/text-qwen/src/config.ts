/**
 * Qwen3.5 text config (`Qwen3_5TextConfig`): parsed from a text `config.json` (`model_type: "qwen3_5_text"`) or
 * from the `text_config` object of a VLM `config.json` (`model_type: "qwen3_5"`). Every value comes from the
 * file (class defaults only where transformers has one); values the model cannot honour are refused with a
 * ConfigError naming the key.
 */
import { CONFIG_LIMITS as L, ConfigError, previewValue } from '@sdxs/core';

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

export type Json = Record<string, unknown>;

export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Typed access to one object of a config file; errors name the file and the key path. */
export class Reader {
  constructor(private readonly obj: Json, private readonly file: string, private readonly path: string) {}

  private key(k: string): string {
    return `${this.path}${k}`;
  }

  fail(k: string, msg: string): never {
    throw new ConfigError(`${this.file}: '${this.key(k)}' ${msg}`);
  }

  raw(k: string): unknown {
    const v = Object.prototype.hasOwnProperty.call(this.obj, k) ? this.obj[k] : undefined;
    return v === null ? undefined : v;
  }

  /** An integer in [min, max]: every size is bounded (CONFIG_LIMITS) so that a hostile config cannot exhaust memory. */
  int(k: string, fallback: number | undefined, max: number, min = 1): number {
    const v = this.raw(k);
    if (v === undefined) {
      if (fallback === undefined) this.fail(k, 'is missing');
      return fallback;
    }
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) this.fail(k, `must be an integer, got ${previewValue(v)}`);
    if (v < min || v > max) this.fail(k, `must be in [${min}, ${max}], got ${v}`);
    return v;
  }

  num(k: string, fallback?: number): number {
    const v = this.raw(k);
    if (v === undefined) {
      if (fallback === undefined) this.fail(k, 'is missing');
      return fallback;
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(k, `must be a number, got ${previewValue(v)}`);
    return v;
  }

  bool(k: string, fallback: boolean): boolean {
    const v = this.raw(k);
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') this.fail(k, `must be true or false, got ${previewValue(v)}`);
    return v;
  }

  str(k: string, fallback: string): string {
    const v = this.raw(k);
    if (v === undefined) return fallback;
    if (typeof v !== 'string') this.fail(k, `must be a string, got ${previewValue(v)}`);
    return v;
  }
}

function textSection(json: Json, file: string): { obj: Json; path: string; outer: Json | null } {
  const modelType = json.model_type;
  if (isObject(json.text_config)) return { obj: json.text_config, path: 'text_config.', outer: json };
  if (modelType === 'qwen3_5') throw new ConfigError(`${file}: 'text_config' is missing from a qwen3_5 (VLM) config`);
  return { obj: json, path: '', outer: null };
}

/** Parse a Qwen3.5 `config.json` (text or VLM form). `file` names the source in errors. */
export function parseQwen35Config(json: unknown, file = 'config.json'): Qwen35TextConfig {
  if (!isObject(json)) throw new ConfigError(`${file}: config is not a JSON object`);
  const { obj, path, outer } = textSection(json, file);
  const r: Reader = new Reader(obj, file, path);

  const modelType = r.raw('model_type');
  if (modelType !== undefined && modelType !== 'qwen3_5_text' && modelType !== 'qwen3_5') {
    r.fail('model_type', `is ${previewValue(modelType)}; expected "qwen3_5_text"`);
  }

  const numHiddenLayers = r.int('num_hidden_layers', 32, L.layers);
  let layerTypes: Qwen35LayerType[];
  const lt = r.raw('layer_types');
  if (lt === undefined) {
    const interval = r.int('full_attention_interval', 4, L.layers);
    layerTypes = Array.from({ length: numHiddenLayers }, (_, i) => ((i + 1) % interval === 0 ? 'full_attention' : 'linear_attention'));
  } else {
    if (!Array.isArray(lt)) r.fail('layer_types', 'must be an array of strings');
    if (lt.length !== numHiddenLayers) r.fail('layer_types', `has ${lt.length} entries but num_hidden_layers is ${numHiddenLayers}`);
    layerTypes = lt.map((v, i) => {
      if (v !== 'linear_attention' && v !== 'full_attention') r.fail(`layer_types[${i}]`, `is ${previewValue(v)}; supported: "linear_attention", "full_attention"`);
      return v;
    });
  }

  const act = r.str('hidden_act', 'silu');
  if (act !== 'silu') r.fail('hidden_act', `is ${previewValue(act)}; only "silu" is supported`);
  if (r.bool('attention_bias', false)) r.fail('attention_bias', 'is true; biased q/k/v/o projections are not supported');
  const gate = r.raw('attn_output_gate');
  if (gate !== undefined && gate !== true) r.fail('attn_output_gate', `is ${previewValue(gate)}; Qwen3.5 attention always gates its output`);

  // rope: rope_parameters (new form) or top-level rope_theta / partial_rotary_factor (older form).
  const rpRaw = r.raw('rope_parameters') ?? r.raw('rope_scaling');
  let ropeTheta: number;
  let partial: number;
  let mropeSection: [number, number, number] = [11, 11, 10];
  if (rpRaw !== undefined) {
    if (!isObject(rpRaw)) r.fail('rope_parameters', 'must be an object');
    const rp: Reader = new Reader(rpRaw, file, `${path}rope_parameters.`);
    const type = rp.raw('rope_type') ?? rp.raw('type') ?? 'default';
    if (type !== 'default') rp.fail('rope_type', `is ${previewValue(type)}; only "default" (unscaled) rope is supported`);
    ropeTheta = rp.num('rope_theta', r.num('rope_theta', 10000));
    partial = rp.num('partial_rotary_factor', r.num('partial_rotary_factor', 0.25));
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
    ropeTheta = r.num('rope_theta', 10000);
    partial = r.num('partial_rotary_factor', 0.25);
  }
  if (!(ropeTheta > 0)) r.fail('rope_parameters.rope_theta', `must be > 0, got ${ropeTheta}`);
  if (!(partial > 0 && partial <= 1)) r.fail('partial_rotary_factor', `must be in (0, 1], got ${partial}`);

  const numAttentionHeads = r.int('num_attention_heads', 16, L.heads);
  const numKeyValueHeads = r.int('num_key_value_heads', 4, L.heads);
  if (numAttentionHeads % numKeyValueHeads !== 0) {
    r.fail('num_key_value_heads', `(${numKeyValueHeads}) must divide num_attention_heads (${numAttentionHeads})`);
  }
  const headDim = r.int('head_dim', 256, L.headDim);
  const rotaryDim = Math.floor(headDim * partial);
  if (rotaryDim % 2 !== 0 || rotaryDim < 2) r.fail('partial_rotary_factor', `gives an odd or empty rotary dim ${rotaryDim} for head_dim ${headDim}`);
  const linearNumKeyHeads = r.int('linear_num_key_heads', 16, L.heads);
  const linearNumValueHeads = r.int('linear_num_value_heads', 32, L.heads);
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

  const eps = r.num('rms_norm_eps', 1e-6);
  if (!(eps > 0 && eps < 1)) r.fail('rms_norm_eps', `must be in (0, 1), got ${eps}`);

  return {
    vocabSize: r.int('vocab_size', 248320, L.vocab),
    hiddenSize: r.int('hidden_size', 4096, L.channels),
    intermediateSize: r.int('intermediate_size', 12288, L.intermediate),
    numHiddenLayers,
    layerTypes,
    numAttentionHeads,
    numKeyValueHeads,
    headDim,
    linearNumKeyHeads,
    linearNumValueHeads,
    linearKeyHeadDim: r.int('linear_key_head_dim', 128, L.headDim),
    linearValueHeadDim: r.int('linear_value_head_dim', 128, L.headDim),
    linearConvKernelDim: r.int('linear_conv_kernel_dim', 4, L.kernel),
    rmsNormEps: eps,
    ropeTheta,
    partialRotaryFactor: partial,
    rotaryDim,
    tieWordEmbeddings: tie,
    maxPositionEmbeddings: r.int('max_position_embeddings', 32768, L.positions),
    eosTokenIds,
    mropeSection,
  };
}
