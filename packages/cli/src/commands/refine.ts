import { existsSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_MODEL, SdxsPipeline } from '@sdxs/pipeline';
import { readInputImage } from '../read-image.js';
import { intArg, numArg, dtypeArg } from '../args.js';
import { UsageError } from '../cli-error.js';
import { BACKEND_OPTIONS, defineCommand, DTYPE_OPTION, flag, text, VERBOSE_OPTION } from '../define-command.js';

export const refine = defineCommand({
  name: 'refine',
  summary: 'rewrite a prompt with the Qwen prompt refiner',
  usage: `sdxs refine "<prompt>" [options]
sdxs refine --image <file> ["<text>"] [options]

Rewrite a prompt with the Qwen3.5 prompt refiner, as SDXS does before generating: the model turns the
prompt into a detailed three-sentence description. Tokens stream to stdout as they come.
With --image the refiner looks at the picture (the text encoder's vision tower) and writes a prompt for it,
the way datasets are captioned; the optional text follows the captioning instruction.`,
  options: {
    image: text('<file>', 'write a prompt from this picture (PNG, JPEG, WebP, AVIF, TIFF)'),
    instruction: text('<text>', 'replace the SDXS refiner instruction placed before the prompt (or the captioning one)'),
    temperature: text('<t>', 'sampling temperature (default 0.7)'),
    'max-tokens': text('<n>', 'new tokens at most (default 248)'),
    seed: text('<n>', 'sampling seed'),
    ...BACKEND_OPTIONS,
    ...DTYPE_OPTION,
    model: text('<dir|repo>', `model folder or hub repo id (default ${DEFAULT_MODEL})`),
    json: flag('print {"prompt", "refined"} at the end instead of streaming'),
    quiet: flag('no backend line', 'q'),
    ...VERBOSE_OPTION,
  },
  async run({ values: v, positionals, io, selectBackend }) {
    const withImage = v.image !== undefined;
    if (withImage ? positionals.length > 1 : positionals.length !== 1 || !positionals[0]!.trim()) {
      throw new UsageError(withImage ? 'sdxs refine: with --image give at most one text, in quotes' : 'sdxs refine: give exactly one prompt, in quotes (see sdxs refine --help)');
    }
    const image = withImage ? await readInputImage(path.resolve(io.cwd, v.image!), io.env) : undefined;
    const dtype = dtypeArg('refine', v.dtype);
    const opts = {
      instruction: v.instruction,
      temperature: numArg('refine', 'temperature', v.temperature, 0.7, 0, 10),
      maxNewTokens: intArg('refine', 'max-tokens', v['max-tokens'], 248, 1, 32768),
      seed: v.seed === undefined ? undefined : intArg('refine', 'seed', v.seed, 0, 0, 2 ** 31 - 1),
    };
    await selectBackend();
    const model = v.model === undefined ? DEFAULT_MODEL : existsSync(path.resolve(io.cwd, v.model)) ? path.resolve(io.cwd, v.model) : v.model;
    const pipe = await SdxsPipeline.fromPretrained(model, { dtype, signal: io.signal });
    try {
      let shown = '';
      const onToken = v.json
        ? undefined
        : (_id: number, text: string): void => {
            if (text.startsWith(shown)) io.stdout.write(text.slice(shown.length));
            shown = text;
          };
      const refined = image
        ? await pipe.refineImage(image, { ...opts, text: positionals[0], signal: io.signal, onToken })
        : await pipe.refinePrompt(positionals[0]!, { ...opts, signal: io.signal, onToken });
      const summary = image ? { image: v.image, ...(positionals[0] ? { text: positionals[0] } : {}), refined } : { prompt: positionals[0], refined };
      io.stdout.write(v.json ? `${JSON.stringify(summary)}\n` : '\n');
      return 0;
    } finally {
      pipe.dispose();
    }
  },
});
