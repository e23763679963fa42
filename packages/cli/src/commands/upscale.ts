import { existsSync, promises as fs, statSync } from 'node:fs';
import path from 'node:path';
import * as C from '@sdxs/core';
import { AsymmetricAutoencoderKL, DEFAULT_OVERLAP, DEFAULT_TILE } from '@sdxs/vae';
import { formatFromPath, IMAGE_EXTENSIONS, inspectImageFile, nonRegularFileProblem, outputSizeProblem, upscaleImageFile, upscaleVideo, VIDEO_EXTENSIONS } from '@sdxs/vae/node';
import { intArg, dtypeArg, type WeightDTypeArg } from '../args.js';
import { EXIT, exitCodeFor, UsageError } from '../cli-error.js';
import { BACKEND_OPTIONS, defineCommand, DTYPE_OPTION, flag, text, VERBOSE_OPTION } from '../define-command.js';
import { progressFor } from '../io.js';
import { imageLimitsFrom } from '../read-image.js';

/** The SDXS model whose `vae/` folder is used by default. */
export const DEFAULT_VAE_MODEL = 'AiArtLab/sdxs-1b';

type Kind = 'image' | 'video' | 'folder';

function kindOf(p: string): Kind | undefined {
  if (existsSync(p) && statSync(p).isDirectory()) return 'folder';
  const ext = path.extname(p).toLowerCase();
  if ((IMAGE_EXTENSIONS as readonly string[]).includes(ext)) return 'image';
  if ((VIDEO_EXTENSIONS as readonly string[]).includes(ext)) return 'video';
  return undefined;
}

function defaultOutput(input: string, kind: Kind): string {
  if (kind === 'folder') return `${input.replace(/[\\/]+$/, '')}-2x`;
  const ext = path.extname(input);
  return path.join(path.dirname(input), `${path.basename(input, ext)}-2x${ext}`);
}

/** --model as given: a folder relative to the working directory when one is there, else a hub repo id (as generate reads it). */
export function modelSource(cwd: string, model: string | undefined): string | undefined {
  return model !== undefined && existsSync(path.resolve(cwd, model)) ? path.resolve(cwd, model) : model;
}

export async function loadVae(model: string | undefined, subfolder: string | undefined, dtype: WeightDTypeArg | undefined, signal: AbortSignal): Promise<AsymmetricAutoencoderKL> {
  const source = model ?? DEFAULT_VAE_MODEL;
  let sub = subfolder;
  if (sub === undefined) {
    const local = existsSync(source) && statSync(source).isDirectory();
    sub = local ? (existsSync(path.join(source, 'config.json')) ? undefined : 'vae') : 'vae';
  }
  return AsymmetricAutoencoderKL.fromPretrained(source, { subfolder: sub, dtype, signal });
}

export const upscale = defineCommand({
  name: 'upscale',
  summary: 'enlarge an image, video or folder of images 2x with the VAE',
  usage: `sdxs upscale <in> [options]

Enlarge an image, a video or a folder of images 2x with the SDXS VAE (encode to the posterior mean,
decode): no invented detail, deterministic output. Prints the path of each file written on stdout (as
generate does); progress and the backend line go to stderr.`,
  args: [
    [
      '<in>',
      `an image (.png .jpg .jpeg .webp .avif .tif .tiff), a video (.mp4 .mov .mkv
.webm .avi .m4v .gif; needs ffmpeg on the PATH or FFMPEG_PATH), or a folder
of images (not recursive)`,
    ],
  ],
  options: {
    output: text('<path>', 'output file (default: <name>-2x.<ext> beside the input) or, for a folder,\noutput folder (default: <folder>-2x)', 'o'),
    ...BACKEND_OPTIONS,
    tile: text(
      '<n>',
      `tile edge in input pixels, a multiple of 8 (default ${DEFAULT_TILE}); 0 = no
tiling. Memory grows with the tile, not the image; bigger tiles are slower to
start but closer to untiled output`,
    ),
    overlap: text('<n>', `tile overlap in input pixels, a multiple of 8 (default ${DEFAULT_OVERLAP})`),
    model: text('<dir|repo>', `VAE folder (holding config.json) or hub repo id (default ${DEFAULT_VAE_MODEL},\nsubfolder vae)`),
    subfolder: text('<name>', 'subfolder of --model holding the VAE (default: vae when present)'),
    ...DTYPE_OPTION,
    quality: text('<q>', 'JPEG/WebP/AVIF quality 1..100'),
    batch: text('<n>', 'video frames per model batch (default 2)'),
    crf: text('<n>', 'video quality, x264 CRF 0..51 (default 18; 0 = lossless)'),
    force: flag('overwrite existing outputs', 'f'),
    quiet: flag('no progress bar and no backend line', 'q'),
    ...VERBOSE_OPTION,
    json: flag('print a JSON summary on stdout ({"outputs": [...], "failures": [...]}), no progress'),
  },
  epilog: `Sizes that are not multiples of 8 are padded by reflection and cropped back; the output is exactly
2W x 2H. Alpha is resized separately (bilinear). The ICC profile and 16-bit PNG/TIFF depth are kept.
Images whose header claims more than 8192x8192 pixels are refused before decoding; raise the limit
with SDXS_MAX_IMAGE_PIXELS=<pixels>. Image files over 8 bytes a pixel of that limit plus 16 MiB (528 MiB)
are refused before reading; SDXS_MAX_IMAGE_BYTES=<bytes> sets that limit directly. Devices, FIFOs and
sockets (also behind symlinks) are refused. Every frame of an animated WebP or page of a multi-page TIFF
is upscaled into the same kind of file (write .webp or .tiff for them). Videos keep each frame's
timestamp (a variable frame rate stays variable) and the audio; a video needs a video output (.mp4 .mov
.mkv .webm .avi .m4v .gif). Outputs are written to a temporary file and renamed, so an error or Ctrl-C
never leaves a half-written file; a full disk or an unwritable folder exits 1.`,
  async run({ values: v, positionals, io, selectBackend }) {
    if (positionals.length !== 1) throw new UsageError('sdxs upscale: give exactly one input (an image, a video or a folder); see sdxs upscale --help');
    const input = path.resolve(io.cwd, positionals[0]!);
    if (!existsSync(input)) throw new C.InputError(`'${positionals[0]}' does not exist`);
    const kind = kindOf(input);
    if (!kind) throw new UsageError(`sdxs upscale: cannot tell whether '${positionals[0]}' is an image or a video from its extension (images: ${IMAGE_EXTENSIONS.join(' ')}; videos: ${VIDEO_EXTENSIONS.join(' ')})`);
    const tile = intArg('upscale', 'tile', v.tile, DEFAULT_TILE, 0, 65536);
    const overlap = intArg('upscale', 'overlap', v.overlap, Math.min(DEFAULT_OVERLAP, Math.max(0, tile - 8)), 0, 65536);
    if (tile % 8 !== 0) throw new UsageError(`sdxs upscale: --tile must be a multiple of 8, got ${tile}`);
    if (tile !== 0 && (overlap % 8 !== 0 || overlap >= tile)) throw new UsageError(`sdxs upscale: --overlap must be a multiple of 8 below --tile, got ${overlap}`);
    const quality = v.quality === undefined ? undefined : intArg('upscale', 'quality', v.quality, 92, 1, 100);
    const batchSize = intArg('upscale', 'batch', v.batch, 2, 1, 256);
    const crf = intArg('upscale', 'crf', v.crf, 18, 0, 51);
    const dtype = dtypeArg('upscale', v.dtype);
    const output = path.resolve(io.cwd, v.output ?? defaultOutput(input, kind));

    // Work list: [input, output] pairs.
    let jobs: [string, string][];
    if (kind === 'folder') {
      if (existsSync(output) && !statSync(output).isDirectory()) throw new UsageError(`sdxs upscale: output '${output}' exists and is not a folder`);
      const names = (await fs.readdir(input)).filter((n) => !n.startsWith('.') && kindOf(path.join(input, n)) === 'image').sort();
      if (names.length === 0) throw new UsageError(`sdxs upscale: no images in '${positionals[0]}'`);
      jobs = names.map((n) => [path.join(input, n), path.join(output, n)]);
    } else {
      jobs = [[input, output]];
      await checkSingleInput(input, positionals[0]!, output, kind, io.env);
    }
    if (!v.force) {
      const clash = jobs.find(([, o]) => existsSync(o));
      if (clash) throw new UsageError(`sdxs upscale: '${clash[1]}' exists; use --force to overwrite`);
    }

    const backend = await selectBackend();
    const vae = await loadVae(modelSource(io.cwd, v.model), v.subfolder, dtype, io.signal);
    const limits = imageLimitsFrom(io.env);
    const opts = { tile, overlap, signal: io.signal, maxInputPixels: limits.maxPixels, maxInputBytes: limits.maxBytes };
    try {
      if (kind === 'video') {
        const bar = progressFor(io, 'upscale', { quiet: v.quiet, json: v.json, unit: 'frames' });
        const r = await upscaleVideo(vae, input, output, { ...opts, batchSize, crf, env: io.env, onProgress: (p) => bar.update(p.done, p.total) });
        bar.done(`${r.written} frames → ${output}`);
        if (v.json) io.stdout.write(`${JSON.stringify({ backend, outputs: [{ input, output, frames: r.written }], failures: [] })}\n`);
        else io.stdout.write(`${output}\n`);
        return 0;
      }
      const failures: string[] = [];
      const outputs: { input: string; output: string; width: number; height: number; frames: number }[] = [];
      let worst: number = EXIT.ok;
      for (const [i, [src, dst]] of jobs.entries()) {
        C.throwIfAborted(io.signal);
        const label = jobs.length > 1 ? `${i + 1}/${jobs.length} ${path.basename(src)}` : path.basename(src);
        const bar = progressFor(io, `upscale ${label}`, { quiet: v.quiet, json: v.json, unit: 'tiles' });
        try {
          const size = await upscaleImageFile(vae, src, dst, { ...opts, quality, onProgress: (p) => bar.update(p.done, p.total) });
          bar.done(`${size.width}x${size.height}${size.frames > 1 ? `, ${size.frames} frames` : ''} → ${dst}`);
          outputs.push({ input: src, output: dst, ...size });
          // one line per file written on stdout, as generate prints (the progress and backend lines are on stderr)
          if (!v.json) io.stdout.write(`${dst}\n`);
        } catch (e) {
          bar.done();
          // In a folder, one bad image does not stop the others; a single input fails the command.
          if (kind !== 'folder' || (e instanceof C.SdxsError && e.code === 'ABORTED')) throw e;
          failures.push(`${path.basename(src)}: ${(e as Error).message}`);
          worst = Math.max(worst, exitCodeFor(e) === EXIT.input ? EXIT.input : EXIT.runtime);
        }
      }
      if (v.json) io.stdout.write(`${JSON.stringify({ backend, outputs, failures })}\n`);
      if (failures.length) {
        io.stderr.write(`sdxs upscale: ${failures.length} of ${jobs.length} images failed:\n  ${failures.join('\n  ')}\n`);
        return worst;
      }
      return 0;
    } finally {
      vae.dispose();
    }
  },
});

/** The help text (the tests check that it names every option and backend). */
export const upscaleHelp = upscale.help;

/**
 * What can be known before the model loads: the input is a regular file (a device or FIFO would be
 * read forever), the output's extension suits the input (a video needs a video, an image an image
 * format that can hold the upscaled size), and an image's header is within the limits.
 */
async function checkSingleInput(input: string, given: string, output: string, kind: 'image' | 'video', env: NodeJS.ProcessEnv): Promise<void> {
  const notRegular = await nonRegularFileProblem(input);
  if (notRegular) throw new C.InputError(`'${given}' ${notRegular}`);
  const outExt = path.extname(output).toLowerCase();
  if (kind === 'video') {
    if (!(VIDEO_EXTENSIONS as readonly string[]).includes(outExt)) {
      throw new UsageError(`sdxs upscale: '${given}' is a video, so the output must be one too (${VIDEO_EXTENSIONS.join(' ')}), not '${path.basename(output)}'`);
    }
    return;
  }
  const format = formatFromPath(output);
  if (!format) {
    const why = (VIDEO_EXTENSIONS as readonly string[]).includes(outExt) ? `'${given}' is an image, not a video` : `'${outExt || path.basename(output)}' is not an image format`;
    throw new UsageError(`sdxs upscale: ${why}: write the output as ${IMAGE_EXTENSIONS.join(' ')}`);
  }
  const { maxPixels, maxBytes } = imageLimitsFrom(env);
  const info = await inspectImageFile(input, { maxPixels, maxBytes });
  if (info.header) {
    const tooLarge = outputSizeProblem(format, info.header.width * 2, info.header.height * 2);
    if (tooLarge) throw new UsageError(`sdxs upscale: '${path.basename(output)}': ${tooLarge}`);
  }
}

