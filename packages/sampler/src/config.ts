/** `scheduler_config.json` of diffusers' FlowMatchEulerDiscreteScheduler, parsed and validated. */
import { CONFIG_LIMITS, ConfigError, previewValue, type ConfigObject } from '@sdxs/core';

export interface FlowMatchConfig {
  numTrainTimesteps: number;
  shift: number;
  useDynamicShifting: boolean;
  baseShift: number;
  maxShift: number;
  baseImageSeqLen: number;
  maxImageSeqLen: number;
  invertSigmas: boolean;
  /** null / 0: off */
  shiftTerminal: number | null;
  useKarrasSigmas: boolean;
  useExponentialSigmas: boolean;
  useBetaSigmas: boolean;
  timeShiftType: 'exponential' | 'linear';
  stochasticSampling: boolean;
}

export const DEFAULT_FLOW_MATCH_CONFIG: Readonly<FlowMatchConfig> = Object.freeze({
  numTrainTimesteps: 1000,
  shift: 1.0,
  useDynamicShifting: false,
  baseShift: 0.5,
  maxShift: 1.15,
  baseImageSeqLen: 256,
  maxImageSeqLen: 4096,
  invertSigmas: false,
  shiftTerminal: null,
  useKarrasSigmas: false,
  useExponentialSigmas: false,
  useBetaSigmas: false,
  timeShiftType: 'exponential',
  stochasticSampling: false,
});

const KEYS: Record<keyof FlowMatchConfig, string> = {
  numTrainTimesteps: 'num_train_timesteps',
  shift: 'shift',
  useDynamicShifting: 'use_dynamic_shifting',
  baseShift: 'base_shift',
  maxShift: 'max_shift',
  baseImageSeqLen: 'base_image_seq_len',
  maxImageSeqLen: 'max_image_seq_len',
  invertSigmas: 'invert_sigmas',
  shiftTerminal: 'shift_terminal',
  useKarrasSigmas: 'use_karras_sigmas',
  useExponentialSigmas: 'use_exponential_sigmas',
  useBetaSigmas: 'use_beta_sigmas',
  timeShiftType: 'time_shift_type',
  stochasticSampling: 'stochastic_sampling',
};

/**
 * Parses a diffusers scheduler config (snake_case JSON) or a partial camelCase object. Keys diffusers
 * does not know are ignored (as diffusers does); wrong types and impossible combinations raise ConfigError.
 */
export function parseFlowMatchConfig(cfg: ConfigObject | Partial<FlowMatchConfig>, file = 'scheduler_config.json', classNames: readonly string[] = ['FlowMatchEulerDiscreteScheduler']): FlowMatchConfig {
  const src = cfg as Record<string, unknown>;
  const cls = src._class_name;
  if (cls !== undefined && cls !== null && !classNames.includes(String(cls))) {
    throw new ConfigError(`${file}: unsupported: _class_name=${String(cls)} (expected ${classNames.join(' or ')})`);
  }
  const out: FlowMatchConfig = { ...DEFAULT_FLOW_MATCH_CONFIG };
  const target = out as unknown as Record<string, unknown>;
  for (const [camel, snake] of Object.entries(KEYS) as [keyof FlowMatchConfig, string][]) {
    const v = src[snake] !== undefined ? src[snake] : src[camel];
    if (v === undefined || v === null) continue;
    const def = DEFAULT_FLOW_MATCH_CONFIG[camel];
    const want = camel === 'shiftTerminal' ? 'number' : typeof def;
    if (typeof v !== want || (want === 'number' && !Number.isFinite(v))) {
      throw new ConfigError(`${file}: key '${snake}' should be ${want === 'boolean' ? 'true or false' : `a ${want}`} but is ${previewValue(v)}`);
    }
    target[camel] = v;
  }
  if (out.timeShiftType !== 'exponential' && out.timeShiftType !== 'linear') {
    throw new ConfigError(`${file}: unsupported: time_shift_type=${String(out.timeShiftType)} (must be 'exponential' or 'linear')`);
  }
  const schedules = [out.useKarrasSigmas, out.useExponentialSigmas, out.useBetaSigmas].filter(Boolean).length;
  if (schedules > 1) throw new ConfigError(`${file}: only one of use_karras_sigmas, use_exponential_sigmas, use_beta_sigmas can be true`);
  if (!Number.isSafeInteger(out.numTrainTimesteps) || out.numTrainTimesteps < 2 || out.numTrainTimesteps > CONFIG_LIMITS.timesteps) {
    throw new ConfigError(`${file}: key 'num_train_timesteps' should be an integer in [2, ${CONFIG_LIMITS.timesteps}] but is ${out.numTrainTimesteps}`);
  }
  if (out.shiftTerminal !== null && out.shiftTerminal !== 0 && !(out.shiftTerminal > 0 && out.shiftTerminal < 1)) {
    throw new ConfigError(`${file}: key 'shift_terminal' must be in (0, 1), got ${out.shiftTerminal}`);
  }
  // A shift <= 0 gives sigmas outside [0, 1] (or a division by zero) and NaN images.
  if (!(out.shift > 0)) throw new ConfigError(`${file}: key 'shift' must be > 0, got ${out.shift}`);
  if (out.useDynamicShifting) {
    for (const k of ['baseImageSeqLen', 'maxImageSeqLen'] as const) {
      if (!(out[k] > 0)) throw new ConfigError(`${file}: key '${KEYS[k]}' must be > 0, got ${out[k]}`);
    }
    if (!(out.maxImageSeqLen > out.baseImageSeqLen)) {
      throw new ConfigError(`${file}: key 'max_image_seq_len' (${out.maxImageSeqLen}) must be greater than 'base_image_seq_len' (${out.baseImageSeqLen})`);
    }
  }
  return out;
}

/**
 * diffusers pipelines' `calculate_shift`: mu for dynamic shifting, linear in the image token count
 * between (base_image_seq_len, base_shift) and (max_image_seq_len, max_shift).
 */
export function calculateShift(imageSeqLen: number, c: Pick<FlowMatchConfig, 'baseImageSeqLen' | 'maxImageSeqLen' | 'baseShift' | 'maxShift'>): number {
  const m = (c.maxShift - c.baseShift) / (c.maxImageSeqLen - c.baseImageSeqLen);
  const b = c.baseShift - m * c.baseImageSeqLen;
  return imageSeqLen * m + b;
}
