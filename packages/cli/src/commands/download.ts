import { downloadModel, DEFAULT_MODEL } from '@sdxs/pipeline';
import { parse } from '../args.js';
import type { CliIo, Command } from '../io.js';
import { progressFor } from '../io.js';

const help = `sdxs download [repo] [options]

Download every file of an SDXS model (model_index.json, vae, unet, text_encoder, tokenizer, scheduler)
into the local cache, so later runs work offline (HF_HUB_OFFLINE=1).

  repo                 hub repo id (default ${DEFAULT_MODEL})
  --revision <rev>     branch, tag or commit (default main)
  --cache-dir <dir>    cache root (default SDXS_CACHE, HF_HUB_CACHE or ~/.cache/huggingface/hub)
  --json               print {"path": ...} instead of progress
  -h, --help           this text

Environment: HF_TOKEN (gated or private repos), HF_ENDPOINT (mirror), HF_HUB_OFFLINE=1 (cache only).`;

export const download: Command = {
  name: 'download',
  summary: 'download a model into the local cache',
  help,
  async run(argv: string[], io: CliIo): Promise<number> {
    const { values, positionals } = parse('download', argv, {
      revision: { type: 'string' },
      'cache-dir': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      io.stdout.write(`${help}\n`);
      return 0;
    }
    const repo = positionals[0] ?? DEFAULT_MODEL;
    const bars = new Map<string, ReturnType<typeof progressFor>>();
    const path = await downloadModel(repo, {
      revision: values.revision,
      cacheDir: values['cache-dir'],
      signal: io.signal,
      onProgress: (p) => {
        let bar = bars.get(p.file);
        if (!bar) {
          bar = progressFor(io, p.file, { json: values.json, bytes: true });
          bars.set(p.file, bar);
        }
        bar.update(p.loaded, p.total ?? p.loaded);
      },
    });
    for (const b of bars.values()) b.done();
    io.stdout.write(values.json ? `${JSON.stringify({ repo, path })}\n` : `${repo} is in ${path}\n`);
    return 0;
  },
};
