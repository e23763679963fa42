import { existsSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_MODEL, GENERATION_DEFAULTS, SdxsPipeline, type PipelineProgress } from '@sdxs/pipeline';
import { intArg, numArg, parse, dtypeArg, DTYPE_HELP } from '../args.js';
import { backendHelp, COMPUTE_HELP, selectBackend } from '../backend-option.js';
import { EXIT_HELP, UsageError } from '../cli-error.js';
import type { CliIo, Command } from '../io.js';
import { progressFor } from '../io.js';
import { numberedPaths, writeFileAtomic } from '../output.js';
import { readInputImage } from '../read-image.js';
import { LORA_HELP, applyLoras, loraArgs } from '../lora-option.js';

const D = GENERATION_DEFAULTS;
const help = `sdxs generate "<prompt>" [options]
sdxs generate --image-prompt <file> ["<text>"] [options]

Text to image with SDXS-1B. Writes PNG files whose text metadata holds the generation parameters and prints
the path of each on stdout (as upscale does); progress, the backend line and, with --refine, the refined
prompt go to stderr. With --image-prompt the picture (and the optional text after it) conditions the model
through the text encoder's Qwen3.5 vision tower: SDXS's image-to-image mode, experimental in the model itself.

  -n, --negative <text>   negative prompt (default: none, the empty prompt)
  -W, --width <px>        width, a multiple of 16 (default ${D.width}; with --image: the image's width
                          rounded to a multiple of 16)
  -H, --height <px>       height, a multiple of 16 (default ${D.height}; with --image: from the image)
      --steps <n>         denoising steps (default ${D.steps})
      --cfg <scale>       classifier-free guidance scale; <= 1 turns it off (default ${D.guidanceScale})
      --seed <n>          seed of the first image; image i uses seed + i (default: random)
      --batch <n>         images per prompt (default ${D.batch})
      --refine            rewrite the prompt with the Qwen prompt refiner first
      --upscale           2x the result with the VAE (2W x 2H output)
      --tile <px>         decode the latents in tiles of this many half-size pixels (multiple of 8; 0 = one pass);
                          bounds the decoder's memory (default: one pass, 256 on tfjs-wasm above 640 px)
      --image <file>      img2img: start from this image (PNG, JPEG, WebP, AVIF, TIFF); the output keeps its
                          size (rounded to a multiple of 16) unless -W/-H are given
      --strength <s>      img2img strength in (0, 1] (default ${D.strength})
      --image-prompt <file>  condition on this picture (experimental in SDXS); the prompt becomes optional
${LORA_HELP}
      --backend <name>    ${backendHelp()}
      --compute <p>  ${COMPUTE_HELP}
      --dtype <t>         ${DTYPE_HELP}
      --model <dir|repo>  local model folder or hub repo id (default ${DEFAULT_MODEL})
      --revision <rev>    hub revision (default main)
      --cache-dir <dir>   hub cache folder
  -o, --output <file.png> output path (default sdxs.png; several images get -1, -2, ... suffixes); --out works too
  -f, --force             overwrite existing outputs (without it an existing file is refused before any work)
      --json              print a JSON summary on stdout, no progress bars
  -q, --quiet             no progress bars and no backend line
  -v, --verbose           also say which backends auto passed over, and why
  -h, --help              this text

${EXIT_HELP} Ctrl-C leaves no partial files.`;

export const generate: Command = {
  name: 'generate',
  summary: 'text to image (PNG with the parameters in its metadata)',
  help,
  async run(argv: string[], io: CliIo): Promise<number> {
    const { values: v, positionals } = parse('generate', argv, {
      negative: { type: 'string', short: 'n' },
      width: { type: 'string', short: 'W' },
      height: { type: 'string', short: 'H' },
      steps: { type: 'string' },
      cfg: { type: 'string' },
      seed: { type: 'string' },
      batch: { type: 'string' },
      refine: { type: 'boolean' },
      upscale: { type: 'boolean' },
      image: { type: 'string' },
      'image-prompt': { type: 'string' },
      tile: { type: 'string' },
      strength: { type: 'string' },
      lora: { type: 'string', multiple: true },
      backend: { type: 'string' },
      compute: { type: 'string' },
      dtype: { type: 'string' },
      model: { type: 'string' },
      revision: { type: 'string' },
      'cache-dir': { type: 'string' },
      output: { type: 'string', short: 'o' },
      out: { type: 'string' },
      force: { type: 'boolean', short: 'f' },
      verbose: { type: 'boolean', short: 'v' },
      json: { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
    });
    if (v.help) {
      io.stdout.write(`${help}\n`);
      return 0;
    }
    const hasImagePrompt = v['image-prompt'] !== undefined;
    if (hasImagePrompt ? positionals.length > 1 : positionals.length !== 1 || !positionals[0]!.trim()) {
      throw new UsageError(hasImagePrompt ? 'sdxs generate: with --image-prompt give at most one text, in quotes' : 'sdxs generate: give exactly one prompt, in quotes (see sdxs generate --help)');
    }
    if (hasImagePrompt && v.refine) throw new UsageError('sdxs generate: --refine does not apply to --image-prompt (sdxs refine --image writes a prompt from a picture)');
    const cmd = 'generate';
    const width = intArg(cmd, 'width', v.width, D.width, 16, 8192);
    const height = intArg(cmd, 'height', v.height, D.height, 16, 8192);
    for (const [k, x] of [['width', width], ['height', height]] as const) {
      if (x % 16 !== 0) throw new UsageError(`sdxs generate: --${k} must be a multiple of 16, got ${x} (try ${Math.round(x / 16) * 16})`);
    }
    const dtype = dtypeArg('generate', v.dtype);
    if (v.strength !== undefined && !v.image) throw new UsageError('sdxs generate: --strength needs --image');
    const decodeTile = v.tile === undefined ? undefined : intArg(cmd, 'tile', v.tile, 0, 0, 65536);
    if (decodeTile !== undefined && decodeTile % 8 !== 0) throw new UsageError(`sdxs generate: --tile must be a multiple of 8, got ${decodeTile}`);
    const opts = {
      prompt: positionals[0],
      negativePrompt: v.negative,
      width,
      height,
      steps: intArg(cmd, 'steps', v.steps, D.steps, 1, 1000),
      guidanceScale: numArg(cmd, 'cfg', v.cfg, D.guidanceScale, 0, 100),
      seed: v.seed === undefined ? undefined : intArg(cmd, 'seed', v.seed, 0, 0, 2 ** 31 - 1),
      batch: intArg(cmd, 'batch', v.batch, D.batch, 1, 64),
      refine: v.refine ?? false,
      upscale: v.upscale ?? false,
      strength: numArg(cmd, 'strength', v.strength, D.strength, 1e-6, 1),
      decodeTile,
    };
    const loras = loraArgs(cmd, v.lora);
    // the same rule as upscale: an existing output is refused (before any work) unless --force
    const paths = numberedPaths(path.resolve(io.cwd, v.output ?? v.out ?? 'sdxs.png'), opts.batch);
    if (!v.force) {
      const clash = paths.find((p) => existsSync(p));
      if (clash) throw new UsageError(`sdxs generate: '${clash}' exists; use --force to overwrite`);
    }
    const image = v.image ? await readInputImage(path.resolve(io.cwd, v.image), io.env, (m) => io.stderr.write(`sdxs ${cmd}: warning: ${m}\n`)) : undefined;
    const imagePrompt = hasImagePrompt ? await readInputImage(path.resolve(io.cwd, v['image-prompt']!), io.env, (m) => io.stderr.write(`sdxs ${cmd}: warning: ${m}\n`)) : undefined;
    if (image && (v.width === undefined || v.height === undefined)) {
      // img2img keeps the input's size and aspect (rounded to the multiple of 16 the model needs) rather
      // than stretching it to the text-to-image default; one given side sets the scale.
      const fit = (x: number): number => Math.min(8192, Math.max(16, Math.round(x / 16) * 16));
      if (v.width === undefined && v.height === undefined) {
        opts.width = fit(image.width);
        opts.height = fit(image.height);
      } else if (v.width === undefined) opts.width = fit((opts.height * image.width) / image.height);
      else opts.height = fit((opts.width * image.height) / image.width);
      if (!v.json && !v.quiet) {
        io.stderr.write(`sdxs generate: size ${opts.width}x${opts.height} from the input image (${image.width}x${image.height}, rounded to a multiple of 16); -W/-H choose another\n`);
      }
    }
    const backend = await selectBackend(cmd, v.backend, io, { compute: v.compute, json: v.json, quiet: v.quiet, verbose: v.verbose });
    // One bar per stage, each printed once: a stage ends when it reports done == total and is not drawn
    // again; a stage that waits for a nested one (encode for 'load text_encoder') carries on after it.
    const bars = new Map<string, ReturnType<typeof progressFor>>();
    const finished = new Set<string>();
    const onProgress = (p: PipelineProgress): void => {
      const key = p.stage === 'download' || p.stage === 'load' || p.stage === 'compile' ? `${p.stage} ${p.detail ?? ''}` : p.stage;
      if (finished.has(key)) return;
      let bar = bars.get(key);
      if (!bar) {
        bar = progressFor(io, key.trim(), { json: v.json, quiet: v.quiet, bytes: p.stage === 'download', unit: p.stage === 'denoise' ? 'it' : 'items' });
        bars.set(key, bar);
      }
      bar.update(p.done, p.total);
      if (p.done >= p.total) {
        bar.done();
        bars.delete(key);
        finished.add(key);
      }
    };
    // a local folder is relative to the working directory; anything else is a hub repo id
    const model = v.model === undefined ? DEFAULT_MODEL : existsSync(path.resolve(io.cwd, v.model)) ? path.resolve(io.cwd, v.model) : v.model;
    const pipe = await SdxsPipeline.fromPretrained(model, { revision: v.revision, cacheDir: v['cache-dir'], dtype, signal: io.signal, onProgress });
    try {
      await applyLoras(pipe, loras);
      const result = await pipe.generate({ ...opts, image, imagePrompt, signal: io.signal });
      for (const b of bars.values()) b.done();
      if (opts.refine && !v.json && !v.quiet) {
        for (const [i, p] of result.prompts.entries()) io.stderr.write(`sdxs generate: refined prompt${result.prompts.length > 1 ? ` ${i + 1}` : ''}: ${p}\n`);
      }
      for (const [i, img] of result.images.entries()) await writeFileAtomic(paths[i]!, await img.toPng());
      if (v.json) {
        io.stdout.write(
          `${JSON.stringify({ backend, model, files: paths, prompts: result.prompts, seeds: result.seeds, width: result.images[0]!.width, height: result.images[0]!.height })}\n`,
        );
      } else for (const p of paths) io.stdout.write(`${p}\n`); // one line per file written, as upscale prints
      return 0;
    } finally {
      pipe.dispose();
    }
  },
};
