#!/usr/bin/env bun
/**
 * Flow-matching fine-tuning of the SDXS UNet.
 *   bun run packages/train/scripts/train.ts --config train.json
 * (also `node --import tsx packages/train/scripts/train.ts ...`, and `sdxs train` in the CLI).
 */
import { runTrain } from '../src/run-train.js';

runTrain(process.argv.slice(2)).then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`\n${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
