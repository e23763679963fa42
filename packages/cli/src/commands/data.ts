import { DATA_CAPTION_USAGE, DATA_CONVERT_USAGE, runDataCaption, runDataConvert } from '@sdxs/data';
import { UsageError } from '../cli-error.js';
import { defineCommand } from '../define-command.js';

const SUBCOMMAND_HELP: Readonly<Record<string, string>> = { caption: DATA_CAPTION_USAGE, convert: DATA_CONVERT_USAGE };

export const data = defineCommand({
  name: 'data',
  summary: 'dataset preparation: `sdxs data convert` (buckets, captions, precomputed latents), `sdxs data caption`',
  usage: `${DATA_CONVERT_USAGE}\n\n${DATA_CAPTION_USAGE}`,
  options: {},
  passthrough: { needsArguments: true, helpFor: ([sub]) => SUBCOMMAND_HELP[sub ?? ''] ?? '' },
  async run({ positionals: [sub, ...rest], io }) {
    const stdio = { signal: io.signal, stdout: io.stdout, stderr: io.stderr };
    if (sub === 'caption') await runDataCaption(rest, stdio);
    // A summary line (or --json summary), never the whole index: that is <out>/index.json.
    else if (sub === 'convert') await runDataConvert(rest, { ...stdio, cwd: io.cwd });
    else throw new UsageError(`sdxs data: unknown subcommand '${sub}'; use: sdxs data convert --in <folder> --out <dataset> or sdxs data caption --in <folder> --model <dir>`);
    return 0;
  },
});
