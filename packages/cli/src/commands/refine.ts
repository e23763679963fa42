import { DEFAULT_MODEL, SdxsPipeline } from '@sdxs/pipeline';
import { intArg, numArg, parse, dtypeArg, DTYPE_HELP } from '../args.js';
import { backendHelp, COMPUTE_HELP, selectBackend } from '../backend-option.js';
import { UsageError } from '../cli-error.js';
import type { CliIo, Command } from '../io.js';

const help = `sdxs refine "<prompt>" [options]

Rewrite a prompt with the Qwen3.5 prompt refiner, as SDXS does before generating: the model turns the
prompt into a detailed three-sentence description. Tokens stream to stdout as they come.

      --instruction <text>  replace the SDXS refiner instruction placed before the prompt
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
    if (positionals.length !== 1 || !positionals[0]!.trim()) throw new UsageError('sdxs refine: give exactly one prompt, in quotes (see sdxs refine --help)');
    const dtype = dtypeArg('refine', v.dtype);
    const opts = {
      instruction: v.instruction,
      temperature: numArg('refine', 'temperature', v.temperature, 0.7, 0, 10),
      maxNewTokens: intArg('refine', 'max-tokens', v['max-tokens'], 248, 1, 32768),
      seed: v.seed === undefined ? undefined : intArg('refine', 'seed', v.seed, 0, 0, 2 ** 31 - 1),
    };
    await selectBackend('refine', v.backend, io, { compute: v.compute, json: v.json, quiet: v.quiet, verbose: v.verbose });
    const pipe = await SdxsPipeline.fromPretrained(v.model ?? DEFAULT_MODEL, { dtype, signal: io.signal });
    try {
      let shown = '';
      const refined = await pipe.refinePrompt(positionals[0]!, {
        ...opts,
        signal: io.signal,
        onToken: v.json
          ? undefined
          : (_id, text) => {
              if (text.startsWith(shown)) io.stdout.write(text.slice(shown.length));
              shown = text;
            },
      });
      io.stdout.write(v.json ? `${JSON.stringify({ prompt: positionals[0], refined })}\n` : '\n');
      return 0;
    } finally {
      pipe.dispose();
    }
  },
};
