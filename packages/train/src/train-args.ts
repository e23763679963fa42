/** The command line of `sdxs train` and `scripts/train.ts`: flags, and the config file they override. */
import * as C from '@sdxs/core';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { TRAIN_LIMITS, validateTrainConfig, type TrainConfig } from './config.js';
import { DEFAULT_LORA_RANK, MAX_LORA_RANK } from './lora-config.js';

export const TRAIN_USAGE = `sdxs train --config train.json [options]
  Flow-matching fine-tuning of the UNet (or LoRA adapters on it) on a dataset made by 'sdxs data convert'.
  -c, --config <file>   training config (examples: packages/train/examples/train.sdxs-1b.json, lora.sdxs-1b.json)
  --steps <n>           optimizer steps in total (overrides "steps")
  -o, --output <dir>    run folder (overrides "output")
  --backend <name>      tensor backend (overrides "backend"; default SDXS_BACKEND, else auto)
  --lora                train LoRA adapters on the frozen base (the config's "lora", else rank ${DEFAULT_LORA_RANK} on the
                        transformer blocks' attention and feed-forward projections)
  --lora-rank <n>       LoRA rank (implies --lora)
  --no-resume           start over instead of resuming from the newest <output>/checkpoints/step-N
  --json                print a JSON summary on stdout (default: a summary line on stderr)
  Ctrl-C saves a checkpoint and stops (exit 130); a re-run resumes from it.`;

export interface TrainArgs {
  cfg: TrainConfig;
  /** Where the backend name came from, for error messages. */
  backendFrom: string;
  /** The backend name came from the config file (a bad one is a config error, not a usage error). */
  backendInConfig: boolean;
  noResume: boolean;
  json: boolean;
  /** The config file as given (for messages). */
  configFile: string;
}

/**
 * Parses argv and reads the config (null for --help). Flag errors are ArgumentErrors, config errors ConfigErrors.
 * `--config` and `--output` are relative to `cwd`; the paths inside the config to the config file.
 */
export function parseTrainArgs(argv: readonly string[], cwd: string = process.cwd()): TrainArgs | null {
  const { values: given } = parseArgs({
    args: [...argv],
    options: {
      config: { type: 'string', short: 'c' },
      steps: { type: 'string' },
      output: { type: 'string', short: 'o' },
      backend: { type: 'string' },
      lora: { type: 'boolean' },
      'lora-rank': { type: 'string' },
      'no-resume': { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  const values = { ...given, config: given.config === undefined ? undefined : path.resolve(cwd, given.config) };
  if (values.help) return null;
  if (!values.config) throw new C.ArgumentError(`--config is required\n${TRAIN_USAGE}`);
  let text: string;
  try {
    text = readFileSync(values.config, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new C.ConfigError(`${values.config}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder, not a JSON config file' : `not a readable config file (${(e as Error).message})`}`);
  }
  // one rule for every JSON config (a leading BOM is accepted, as in the model folders' config.json)
  const raw = C.parseConfig(text, values.config) as Partial<TrainConfig>;
  if (values.steps !== undefined) {
    const n = Number(values.steps);
    if (!(/^\d+$/.test(values.steps) && Number.isSafeInteger(n) && n > 0 && n <= TRAIN_LIMITS.steps)) {
      throw new C.ArgumentError(`--steps expects an integer from 1 to ${TRAIN_LIMITS.steps}, got '${values.steps}'`);
    }
    raw.steps = n;
  }
  if (values.output) raw.output = path.resolve(cwd, values.output);
  if (values.backend) raw.backend = values.backend;
  const rankFlag = values['lora-rank'];
  if (values.lora || rankFlag !== undefined) {
    const rank = rankFlag === undefined ? undefined : /^\d+$/.test(rankFlag) ? Number(rankFlag) : Number.NaN;
    if (rank !== undefined && !(Number.isInteger(rank) && rank >= 1 && rank <= MAX_LORA_RANK)) throw new C.ArgumentError(`--lora-rank expects an integer from 1 to ${MAX_LORA_RANK}, got '${rankFlag}'`);
    const given = raw.lora ?? { rank: DEFAULT_LORA_RANK };
    // a "lora" that is not an object stays as written, for validation to name it
    if (typeof given === 'object' && given !== null && !Array.isArray(given)) raw.lora = { ...given, ...(rank === undefined ? {} : { rank }) };
  }
  const backendFrom = values.backend ? '--backend' : raw.backend ? `"backend" in ${values.config}` : 'SDXS_BACKEND';
  const cfg = resolvePaths(validateTrainConfig(raw, values.config), path.dirname(path.resolve(values.config)));
  return { cfg, backendFrom, backendInConfig: !values.backend && Boolean(raw.backend), noResume: values['no-resume'] ?? false, json: values.json ?? false, configFile: values.config };
}

const isLocal = (s: string): boolean => s.startsWith('.') || s.startsWith('/') || existsSync(s);

/** Paths in the config resolve against the config file; `model` and `lora.initFrom` may be hub repo ids. */
function resolvePaths(cfg: TrainConfig, base: string): TrainConfig {
  const r = (p: string | undefined): string | undefined => (p === undefined ? undefined : isLocal(p) || !/^[\w.-]+\/[\w.-]+$/.test(p) ? path.resolve(base, p) : p);
  return {
    ...cfg,
    model: r(cfg.model)!,
    unet: r(cfg.unet),
    dataset: path.resolve(base, cfg.dataset),
    output: path.resolve(base, cfg.output),
    ...(cfg.lora ? { lora: { ...cfg.lora, initFrom: r(cfg.lora.initFrom) } } : {}),
  };
}
