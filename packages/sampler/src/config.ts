/** `scheduler_config.json` of diffusers' FlowMatchEulerDiscreteScheduler, parsed and validated. */
import { CONFIG_LIMITS, ConfigError, ConfigReader, type ConfigObject } from '@sdxs/core';

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

/** The key a camelCase field is written as in the file (`numTrainTimesteps` → `num_train_timesteps`). */
const fileKey = (field: string): string => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * Parses a diffusers scheduler config (snake_case JSON) or a partial camelCase object (each field stands for
 * its key, the key winning when both are given) with core's ConfigReader. Keys diffusers does not know are
 * ignored (as diffusers does); wrong types and impossible combinations raise ConfigError.
 */
export function parseFlowMatchConfig(cfg: ConfigObject | Partial<FlowMatchConfig>, file = 'scheduler_config.json', classNames: readonly string[] = ['FlowMatchEulerDiscreteScheduler']): FlowMatchConfig {
  const src = cfg as ConfigObject;
  const keyed: ConfigObject = { ...src };
  for (const field of Object.keys(DEFAULT_FLOW_MATCH_CONFIG)) {
    if (src[field] !== undefined && keyed[fileKey(field)] === undefined) keyed[fileKey(field)] = src[field];
  }
  const r = ConfigReader.of(keyed, file);
  const cls = r.raw('_class_name');
  if (cls !== undefined && !classNames.includes(String(cls))) {
    throw new ConfigError(`${file}: unsupported: _class_name=${String(cls)} (expected ${classNames.join(' or ')})`);
  }
  const d = DEFAULT_FLOW_MATCH_CONFIG;
  const timeShiftType = r.string('time_shift_type', d.timeShiftType);
  if (timeShiftType !== 'exponential' && timeShiftType !== 'linear') {
    throw new ConfigError(`${file}: unsupported: time_shift_type=${timeShiftType} (must be 'exponential' or 'linear')`);
  }
  const out: FlowMatchConfig = {
    numTrainTimesteps: r.integer('num_train_timesteps', d.numTrainTimesteps, 2, CONFIG_LIMITS.timesteps),
    shift: r.number('shift', d.shift),
    useDynamicShifting: r.boolean('use_dynamic_shifting', d.useDynamicShifting),
    baseShift: r.number('base_shift', d.baseShift),
    maxShift: r.number('max_shift', d.maxShift),
    baseImageSeqLen: r.number('base_image_seq_len', d.baseImageSeqLen),
    maxImageSeqLen: r.number('max_image_seq_len', d.maxImageSeqLen),
    invertSigmas: r.boolean('invert_sigmas', d.invertSigmas),
    shiftTerminal: r.has('shift_terminal') ? r.number('shift_terminal') : null,
    useKarrasSigmas: r.boolean('use_karras_sigmas', d.useKarrasSigmas),
    useExponentialSigmas: r.boolean('use_exponential_sigmas', d.useExponentialSigmas),
    useBetaSigmas: r.boolean('use_beta_sigmas', d.useBetaSigmas),
    timeShiftType,
    stochasticSampling: r.boolean('stochastic_sampling', d.stochasticSampling),
  };
  const schedules = [out.useKarrasSigmas, out.useExponentialSigmas, out.useBetaSigmas].filter(Boolean).length;
  if (schedules > 1) throw new ConfigError(`${file}: only one of use_karras_sigmas, use_exponential_sigmas, use_beta_sigmas can be true`);
  if (out.shiftTerminal !== null && out.shiftTerminal !== 0 && !(out.shiftTerminal > 0 && out.shiftTerminal < 1)) r.fail('shift_terminal', `must be in (0, 1), got ${out.shiftTerminal}`);
  // A shift <= 0 gives sigmas outside [0, 1] (or a division by zero) and NaN images.
  if (!(out.shift > 0)) r.fail('shift', `must be > 0, got ${out.shift}`);
  if (out.useDynamicShifting) {
    if (!(out.baseImageSeqLen > 0)) r.fail('base_image_seq_len', `must be > 0, got ${out.baseImageSeqLen}`);
    if (!(out.maxImageSeqLen > 0)) r.fail('max_image_seq_len', `must be > 0, got ${out.maxImageSeqLen}`);
    if (!(out.maxImageSeqLen > out.baseImageSeqLen)) {
      r.fail('max_image_seq_len', `(${out.maxImageSeqLen}) must be greater than 'base_image_seq_len' (${out.baseImageSeqLen})`);
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
