import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import * as C from '@sdxs/core';
import { makeTinyModel as writeTinyModel } from '@sdxs/pipeline';
import { intArg } from '../args.js';
import { UsageError } from '../cli-error.js';
import { defineCommand, flag, text } from '../define-command.js';

export const makeTinyModel = defineCommand({
  name: 'make-tiny-model',
  summary: 'write a tiny random-weight model folder, to try the tools offline in seconds',
  usage: `sdxs make-tiny-model <dir> [options]

Write a complete SDXS model folder with tiny random weights (about 3 MB, a few seconds, no network), to
try every command offline before downloading the real model. Its pictures are colourful noise, not art.

  sdxs make-tiny-model tiny
  sdxs generate "a red fox" --model tiny -W 256 -H 256 --steps 4 -o fox.png
  sdxs upscale fox.png --model tiny`,
  options: {
    seed: text('<n>', 'weight seed (default 1234)'),
    force: flag('write into a folder that is not empty', 'f'),
    json: flag('print {"path", "bytes"} on stdout'),
  },
  async run({ values: v, positionals, io }) {
    if (positionals.length !== 1) throw new UsageError('sdxs make-tiny-model: give the folder to write, e.g. sdxs make-tiny-model tiny');
    const dir = path.resolve(io.cwd, positionals[0]!);
    if (existsSync(dir) && readdirSync(dir).length > 0 && !v.force) throw new UsageError(`sdxs make-tiny-model: '${positionals[0]}' is not empty; use --force to write into it`);
    const seed = intArg('make-tiny-model', 'seed', v.seed, 1234, 0, 2 ** 31 - 1);
    await C.setBackend('cpu');
    const bytes = await writeTinyModel(dir, { seed });
    if (v.json) io.stdout.write(`${JSON.stringify({ path: dir, bytes })}\n`);
    else io.stdout.write(`${dir}\n`);
    if (!v.json) io.stderr.write(`tiny model (${(bytes / 2 ** 20).toFixed(1)} MiB, random weights) written; try: sdxs generate "a red fox" --model ${positionals[0]} -W 256 -H 256 --steps 4 -o fox.png\n`);
    return 0;
  },
});
