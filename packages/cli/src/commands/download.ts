import { downloadModel, DEFAULT_MODEL } from '@sdxs/pipeline';
import { defineCommand, flag, text } from '../define-command.js';
import { progressFor } from '../io.js';

export const download = defineCommand({
  name: 'download',
  summary: 'download a model into the local cache',
  usage: `sdxs download [repo] [options]

Download every file of an SDXS model (model_index.json, vae, unet, text_encoder, tokenizer, scheduler)
into the local cache, so later runs work offline (HF_HUB_OFFLINE=1).`,
  args: [['repo', `hub repo id (default ${DEFAULT_MODEL})`]],
  options: {
    revision: text('<rev>', 'branch, tag or commit (default main)'),
    'cache-dir': text('<dir>', 'cache root (default HF_HUB_CACHE, $HF_HOME/hub or ~/.cache/huggingface/hub)'),
    json: flag('print {"path": ...} instead of progress'),
  },
  epilog: 'Environment: HF_TOKEN (gated or private repos), HF_ENDPOINT (mirror), HF_HUB_OFFLINE=1 (cache only).',
  async run({ values, positionals, io }) {
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
});
