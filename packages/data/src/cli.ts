import * as C from '@sdxs/core';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { imageLimitsFromEnv } from '@sdxs/vae';
import { convertDataset, type ConvertResult } from './convert.js';
import { mergeDatasetIndex } from './dataset-index.js';
import type { TextEncoderLike, VaeEncoderLike } from './precompute.js';

export const DATA_CONVERT_USAGE = `sdxs data convert --in <folder> -o <dataset> [options]
  -o, --out <dataset>        output dataset folder (--output works too)
  --buckets <min:max:step>   bucket sides in px (default 768:1408:64)
  --shard <i/n>              process this machine's share (0-based i of n machines)
  --workers <n>              decode/resize threads (default: cores, max 8)
  --vae <dir|repo>           precompute latents with this AsymmetricAutoencoderKL (a model root with vae/ works too)
  --text-encoder <dir|repo>  precompute conditioning with the SDXS text encoder (repo root with text_encoder/, tokenizer/)
  --manifest <file.csv|jsonl> captions manifest (default: metadata.csv / metadata.jsonl in --in)
  --keep-images              also store the full-size image (VAE decoder target)
  --items-per-shard <n>      items per part file (default 64)
  --min-side <px>            skip images whose shorter side is smaller (default: half the smallest bucket)
  --require-caption          skip images without any caption
  --backend <name>           tensor backend for precompute (default SDXS_BACKEND, else auto)
  --merge-only               only rebuild index.json/report.json from finished parts (after all machines)
  --json                     print a JSON summary on stdout (default: a summary line on stderr)
Images whose header claims more than 8192x8192 pixels are skipped as corrupt before decoding
(raise the limit with SDXS_MAX_IMAGE_PIXELS=<pixels>), and so are files over 8 bytes a pixel of that
limit plus 16 MiB, before they are read (SDXS_MAX_IMAGE_BYTES=<bytes> sets that limit directly).
Devices, FIFOs and sockets named like images (also behind symlinks) are skipped as not regular files.`;

function intArg(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new C.ArgumentError(`--${name} expects a non-negative integer, got '${v}'`);
  return n;
}

export interface RunDataConvertOptions {
  /** Ctrl-C / SIGTERM: stops between items; finished parts are kept and a rerun resumes. */
  signal?: AbortSignal;
  stdout?: { write(s: string): unknown };
  stderr?: { write(s: string): unknown; isTTY?: boolean };
  /** what relative folders are resolved against (default: the process's working directory) */
  cwd?: string;
}

/**
 * `sdxs data convert` (argv without the command words). Prints a summary (not the index: that is
 * `<out>/index.json`) to stderr, or as JSON on stdout with --json.
 */
export async function runDataConvert(argv: readonly string[], io: RunDataConvertOptions = {}): Promise<ConvertResult | null> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const { values: raw } = parseArgs({
    args: [...argv],
    options: {
      in: { type: 'string' },
      out: { type: 'string', short: 'o' },
      output: { type: 'string' },
      buckets: { type: 'string' },
      shard: { type: 'string' },
      workers: { type: 'string' },
      vae: { type: 'string' },
      'text-encoder': { type: 'string' },
      manifest: { type: 'string' },
      'keep-images': { type: 'boolean' },
      'items-per-shard': { type: 'string' },
      'min-side': { type: 'string' },
      'require-caption': { type: 'boolean' },
      backend: { type: 'string' },
      'merge-only': { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  // folders are relative to the caller's working directory; --vae / --text-encoder may also be hub repo ids
  const cwd = io.cwd ?? process.cwd();
  const local = (p: string | undefined): string | undefined => (p === undefined ? undefined : path.resolve(cwd, p));
  const folderOrRepo = (p: string | undefined): string | undefined => (p !== undefined && existsSync(path.resolve(cwd, p)) ? path.resolve(cwd, p) : p);
  const values = { ...raw, in: local(raw.in), out: local(raw.out), output: local(raw.output), manifest: local(raw.manifest), vae: folderOrRepo(raw.vae), 'text-encoder': folderOrRepo(raw['text-encoder']) };
  if (values.help) {
    stdout.write(`${DATA_CONVERT_USAGE}\n`);
    return null;
  }
  if (values.out && values.output && values.out !== values.output) throw new C.ArgumentError(`--out '${values.out}' and --output '${values.output}' disagree: give one`);
  values.out ??= values.output;
  if (!values.out) throw new C.ArgumentError(`--out is required\n${DATA_CONVERT_USAGE}`);
  if (values['merge-only']) {
    const { report } = mergeDatasetIndex(values.out);
    if (values.json) stdout.write(`${JSON.stringify({ out: values.out, items: report.items, skipped: report.skipped.length, counts: report.counts })}\n`);
    else stderr.write(`merged: ${report.items} items, ${report.skipped.length} skipped\n`);
    return null;
  }
  if (!values.in) throw new C.ArgumentError(`--in is required\n${DATA_CONVERT_USAGE}`);
  let buckets: { min: number; max: number; step: number } | undefined;
  if (values.buckets) {
    const m = /^(\d+):(\d+):(\d+)$/.exec(values.buckets);
    if (!m) throw new C.ArgumentError(`--buckets expects min:max:step, got '${values.buckets}'`);
    buckets = { min: Number(m[1]), max: Number(m[2]), step: Number(m[3]) };
  }
  let shard: { index: number; count: number } | undefined;
  if (values.shard) {
    const m = /^(\d+)\/(\d+)$/.exec(values.shard);
    if (!m) throw new C.ArgumentError(`--shard expects i/n, got '${values.shard}'`);
    shard = { index: Number(m[1]), count: Number(m[2]) };
  }
  if (values.vae || values['text-encoder']) await C.setBackend(values.backend ?? C.envBackend() ?? 'auto');
  let vae: VaeEncoderLike | undefined;
  if (values.vae) {
    const { AsymmetricAutoencoderKL } = await import('@sdxs/vae');
    const src = existsSync(`${values.vae}/vae/config.json`) ? `${values.vae}/vae` : values.vae;
    vae = await AsymmetricAutoencoderKL.fromPretrained(src);
  }
  let textEncoder: TextEncoderLike | undefined;
  if (values['text-encoder']) {
    const { SdxsTextEncoder } = await import('@sdxs/text-qwen');
    textEncoder = await SdxsTextEncoder.fromPretrained(values['text-encoder']);
  }
  const started = performance.now();
  const r = await convertDataset({
    in: values.in,
    out: values.out,
    buckets,
    shard,
    workers: intArg(values.workers, 'workers'),
    manifest: values.manifest,
    keepImages: values['keep-images'],
    itemsPerShard: intArg(values['items-per-shard'], 'items-per-shard'),
    minImageSide: intArg(values['min-side'], 'min-side'),
    requireCaption: values['require-caption'],
    maxImagePixels: imageLimitsFromEnv().maxPixels,
    maxImageBytes: imageLimitsFromEnv().maxBytes,
    precompute: { vae, textEncoder },
    signal: io.signal,
    // a TTY gets one updating line; a log file gets plain lines
    onProgress: values.json ? undefined : (p) => stderr.write(`${stderr.isTTY ? '\r' : ''}${p.done}/${p.total} (${p.skipped} skipped)${stderr.isTTY ? '' : '\n'}`),
  });
  const s = ((performance.now() - started) / 1000).toFixed(1);
  if (values.json) {
    stdout.write(`${JSON.stringify({ out: values.out, processed: r.processed, seconds: Number(s), items: r.report.items, skipped: r.report.skipped.length, counts: r.report.counts })}\n`);
  } else {
    const animated = r.index.items.filter((it) => (it.frames ?? 1) > 1);
    if (animated.length) {
      const names = animated.slice(0, 5).map((it) => it.source).join(', ');
      stderr.write(`warning: ${animated.length} animated or multi-page images (${names}${animated.length > 5 ? ', …' : ''}) contribute their first frame only\n`);
    }
    const small = r.report.counts.tiny ? `; ${r.report.counts.tiny} images were smaller than --min-side (default: half the smallest bucket side) and skipped: lower --buckets min:max:step or --min-side to keep them` : '';
    stderr.write(`${stderr.isTTY ? '\n' : ''}converted ${r.processed} sources in ${s}s into ${values.out}: ${r.report.items} items, skipped ${JSON.stringify(r.report.counts)}${small} (index: ${values.out}/index.json, report: ${values.out}/report.json)\n`);
  }
  return r;
}

export const DATA_CAPTION_USAGE = `sdxs data caption --in <folder> --model <dir|repo> [options]
Writes name.caption.txt next to every image that has no caption yet, from the SDXS refiner looking at the
picture (the text encoder's Qwen3.5 vision tower). Images with a caption (sidecar or manifest) are left alone.
  --model <dir|repo>         SDXS model root (text_encoder/ with its vision tower, tokenizer/)
  --text <text>              text after the captioning instruction, for every image
  --instruction <text>       replace the captioning instruction
  --max-tokens <n>           new tokens per caption at most (default 248)
  --seed <n>                 image i samples with seed + i (default 0)
  --manifest <file.csv|jsonl> captions manifest (default: metadata.csv / metadata.jsonl in --in)
  --overwrite                caption every image, replacing existing .caption.txt files
  --backend <name>           tensor backend (default SDXS_BACKEND, else auto)
  --json                     print a JSON summary on stdout`;

/** `sdxs data caption` (argv without the command words). */
export async function runDataCaption(argv: readonly string[], io: RunDataConvertOptions = {}): Promise<import('./caption.js').CaptionFolderResult | null> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const { values } = parseArgs({
    args: [...argv],
    options: {
      in: { type: 'string' },
      model: { type: 'string' },
      text: { type: 'string' },
      instruction: { type: 'string' },
      'max-tokens': { type: 'string' },
      seed: { type: 'string' },
      manifest: { type: 'string' },
      overwrite: { type: 'boolean' },
      backend: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    stdout.write(`${DATA_CAPTION_USAGE}\n`);
    return null;
  }
  if (!values.in) throw new C.ArgumentError(`--in is required\n${DATA_CAPTION_USAGE}`);
  if (!values.model) throw new C.ArgumentError(`--model is required\n${DATA_CAPTION_USAGE}`);
  await C.setBackend(values.backend ?? C.envBackend() ?? 'auto');
  const { PromptRefiner } = await import('@sdxs/text-qwen');
  const { captionFolder } = await import('./caption.js');
  const refiner = await PromptRefiner.fromPretrained(values.model, { vision: true, signal: io.signal });
  try {
    const r = await captionFolder({
      in: values.in,
      captioner: refiner,
      manifest: values.manifest,
      overwrite: values.overwrite,
      text: values.text,
      instruction: values.instruction,
      maxNewTokens: intArg(values['max-tokens'], 'max-tokens'),
      seed: intArg(values.seed, 'seed'),
      maxImagePixels: imageLimitsFromEnv().maxPixels,
      signal: io.signal,
      onProgress: values.json ? undefined : (p) => stderr.write(`${stderr.isTTY ? '\r' : ''}captioned ${p.done} (${p.file})${stderr.isTTY ? '' : '\n'}`),
    });
    if (values.json) stdout.write(`${JSON.stringify({ in: values.in, captioned: r.captioned, kept: r.kept.length, failed: r.failed })}\n`);
    else stderr.write(`${stderr.isTTY ? '\n' : ''}captioned ${r.captioned.length}, kept ${r.kept.length} with captions, ${r.failed.length} unreadable\n`);
    return r;
  } finally {
    refiner.dispose();
  }
}
