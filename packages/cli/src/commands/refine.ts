import { existsSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_MODEL, SdxsPipeline } from '@sdxs/pipeline';
import { readInputImage } from '../read-image.js';
import { intArg, numArg, parse, dtypeArg, DTYPE_HELP } from '../args.js';
import { backendHelp, COMPUTE_HELP, selectBackend } from '../backend-option.js';
import { UsageError } from '../cli-error.js';
import type { CliIo, Command } from '../io.js';

const help = `sdxs refine "<prompt>" [options]
sdxs refine --image <file> ["<text>"] [options]

Rewrite a prompt with the Qwen3.5 prompt refiner, as SDXS does before generating: the model turns the
prompt into a detailed three-sentence description. Tokens stream to stdout as they come.
With --image the refiner looks at the picture (the text encoder's vision tower) and writes a prompt for it,
the way datasets are captioned; the optional text follows the captioning instruction.

      --image <file>        write a prompt from this picture (PNG, JPEG, WebP, AVIF, TIFF)
      --instruction <text>  replace the SDXS refiner instruction placed before the prompt (or the captioning one)
      --temperature <t>     sampling temperature (default 0.7)
      --max-tokens <n>      new tokens at most (default 248)
      --seed <n>            sampling seed
      --backend <name>      ${backendHelp()}
      --compute <p>    ${COMPUTE_HELP}
      --dtype <t>           ${DTYPE_HELP}
      --model <dir|repo>    model folder or hub repo id (default ${DEFAULT_MODEL})
      --json                print {"prompt", "refined"} at the end instead of streaming
  -q, --quiet               no backend line
  -v, --verbose             also say which backends auto passed over, and why
  -h, --help                this text`;

export const refine: Command = {
  name: 'refine',
  summary: 'rewrite a prompt with the Qwen prompt refiner',
  help,
  async run(argv: string[], io: CliIo): Promise<number> {
    const { values: v, positionals } = parse('refine', argv, {
      instruction: { type: 'string' },
      image: { type: 'string' },
      temperature: { type: 'string' },
      'max-tokens': { type: 'string' },
      seed: { type: 'string' },
      backend: { type: 'string' },
      compute: { type: 'string' },
      dtype: { type: 'string' },
      model: { type: 'string' },
      json: { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
      verbose: { type: 'boolean', short: 'v' },
      help: { type: 'boolean', short: 'h' },
    });
    if (v.help) {
      io.stdout.write(`${help}\n`);
      return 0;
    }
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
    await selectBackend('refine', v.backend, io, { compute: v.compute, json: v.json, quiet: v.quiet, verbose: v.verbose });
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
};
