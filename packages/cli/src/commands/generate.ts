import { existsSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_MODEL, GENERATION_DEFAULTS, SdxsPipeline, type PipelineProgress } from '@sdxs/pipeline';
import { intArg, numArg, dtypeArg } from '../args.js';
import { EXIT_HELP, UsageError } from '../cli-error.js';
import { BACKEND_OPTIONS, defineCommand, DTYPE_OPTION, flag, list, text, VERBOSE_OPTION } from '../define-command.js';
import { progressFor } from '../io.js';
import { numberedPaths, writeFileAtomic } from '../output.js';
import { readInputImage } from '../read-image.js';
import { LORA_HELP, applyLoras, loraArgs } from '../lora-option.js';

const D = GENERATION_DEFAULTS;
export const generate = defineCommand({
  name: 'generate',
  summary: 'text to image (PNG with the parameters in its metadata)',
  usage: `sdxs generate "<prompt>" [options]
sdxs generate --image-prompt <file> ["<text>"] [options]

Text to image with SDXS-1B. Writes PNG files whose text metadata holds the generation parameters and prints
the path of each on stdout (as upscale does); progress, the backend line and, with --refine, the refined
prompt go to stderr. With --image-prompt the picture (and the optional text after it) conditions the model
through the text encoder's Qwen3.5 vision tower: SDXS's image-to-image mode, experimental in the model itself.`,
  options: {
    negative: text('<text>', 'negative prompt (default: none, the empty prompt)', 'n'),
    width: text('<px>', `width, a multiple of 16 (default ${D.width}; with --image: the image's width\nrounded to a multiple of 16)`, 'W'),
    height: text('<px>', `height, a multiple of 16 (default ${D.height}; with --image: from the image)`, 'H'),
    steps: text('<n>', `denoising steps (default ${D.steps})`),
    cfg: text('<scale>', `classifier-free guidance scale; <= 1 turns it off (default ${D.guidanceScale})`),
    seed: text('<n>', 'seed of the first image; image i uses seed + i (default: random)'),
    batch: text('<n>', `images per prompt (default ${D.batch})`),
    refine: flag('rewrite the prompt with the Qwen prompt refiner first'),
    upscale: flag('2x the result with the VAE (2W x 2H output)'),
    tile: text('<px>', 'decode the latents in tiles of this many half-size pixels (multiple of 8; 0 = one pass);\nbounds the decoder\'s memory (default: one pass, 256 on tfjs-wasm above 640 px)'),
    image: text('<file>', 'img2img: start from this image (PNG, JPEG, WebP, AVIF, TIFF); the output keeps its\nsize (rounded to a multiple of 16) unless -W/-H are given'),
    strength: text('<s>', `img2img strength in (0, 1] (default ${D.strength})`),
    'image-prompt': text('<file>', 'condition on this picture (experimental in SDXS); the prompt becomes optional'),
    lora: list('<src[:w]>', LORA_HELP),
    ...BACKEND_OPTIONS,
    ...DTYPE_OPTION,
    model: text('<dir|repo>', `local model folder or hub repo id (default ${DEFAULT_MODEL})`),
    revision: text('<rev>', 'hub revision (default main)'),
    'cache-dir': text('<dir>', 'hub cache folder'),
    output: text('<file.png>', 'output path (default sdxs.png; several images get -1, -2, ... suffixes); --out works too', 'o'),
    out: text('<file.png>', 'the same as --output'),
    force: flag('overwrite existing outputs (without it an existing file is refused before any work)', 'f'),
    json: flag('print a JSON summary on stdout, no progress bars'),
    quiet: flag('no progress bars and no backend line', 'q'),
    ...VERBOSE_OPTION,
  },
  epilog: `${EXIT_HELP} Ctrl-C leaves no partial files.`,
  async run({ values: v, positionals, io, selectBackend }) {
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
    const backend = await selectBackend();
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
});
