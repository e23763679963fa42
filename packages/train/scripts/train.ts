#!/usr/bin/env bun
/**
 * Flow-matching fine-tuning of the SDXS UNet, or LoRA on it ("lora" in the config, or --lora).
 *   bun run packages/train/scripts/train.ts --config train.json
 *   bun run packages/train/scripts/train.ts --config packages/train/examples/lora.sdxs-1b.json
 * (also `node --import tsx packages/train/scripts/train.ts ...`, and `sdxs train` in the CLI).
 * Exit codes as the CLI's: 0 ok, 1 runtime failure, 2 usage, 3 unusable config/model/dataset, 130 interrupted.
 */
import { SdxsError } from '@sdxs/core';
import { runTrain } from '../src/run-train.js';

const codeFor = (e: unknown): number => {
  if (!(e instanceof SdxsError)) return (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? 2 : 1;
  return e.code === 'USAGE' ? 2 : ['INPUT', 'CONFIG', 'SAFETENSORS', 'CHECKPOINT'].includes(e.code) ? 3 : e.code === 'ABORTED' ? 130 : 1;
};

runTrain(process.argv.slice(2)).then(
  (r) => process.exit(r?.interrupted ? 130 : 0),
  (e: unknown) => {
    process.stderr.write(`\n${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(codeFor(e));
  },
);
