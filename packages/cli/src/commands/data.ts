import { DATA_CAPTION_USAGE, DATA_CONVERT_USAGE, runDataCaption, runDataConvert } from '@sdxs/data';
import { UsageError } from '../cli-error.js';
import type { CliIo, Command } from '../io.js';

export const data: Command = {
  name: 'data',
  summary: 'dataset preparation: `sdxs data convert` (buckets, captions, precomputed latents), `sdxs data caption`',
  help: `${DATA_CONVERT_USAGE}\n\n${DATA_CAPTION_USAGE}`,
  async run(argv: string[], io: CliIo): Promise<number> {
    const [sub, ...rest] = argv;
    if (!sub || sub === '-h' || sub === '--help') {
      io.stdout.write(`${DATA_CONVERT_USAGE}\n\n${DATA_CAPTION_USAGE}\n`);
      return sub ? 0 : 2;
    }
    if (sub === 'caption') {
      if (rest.includes('-h') || rest.includes('--help')) {
        io.stdout.write(`${DATA_CAPTION_USAGE}\n`);
        return 0;
      }
      await runDataCaption(rest, { signal: io.signal, stdout: io.stdout, stderr: io.stderr });
      return 0;
    }
    if (sub !== 'convert') throw new UsageError(`sdxs data: unknown subcommand '${sub}'; use: sdxs data convert --in <folder> --out <dataset> or sdxs data caption --in <folder> --model <dir>`);
    if (rest.includes('-h') || rest.includes('--help')) {
      io.stdout.write(`${DATA_CONVERT_USAGE}\n`);
      return 0;
    }
    // A summary line (or --json summary), never the whole index: that is <out>/index.json.
    await runDataConvert(rest, { signal: io.signal, stdout: io.stdout, stderr: io.stderr, cwd: io.cwd });
    return 0;
  },
};
