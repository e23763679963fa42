/**
 * 2× video upscaling through the system ffmpeg: frames stream in as raw RGB over a pipe, go through
 * the model in batches and stream out to an encoder that takes the original frame rate and copies the
 * audio. Only one batch of frames is held at a time, so memory does not grow with the video's length.
 * The output is written to a temporary file and renamed at the end; on failure or abort it is removed.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as C from '@sdxs/core';
import type { AsymmetricAutoencoderKL } from '../autoencoder.js';
import { sequenceProgress, type ProgressCallback } from '../upscale/progress.js';
import type { Raster } from '../upscale/raster.js';
import { upscaleBatch, type UpscaleOptions } from '../upscale/upscale.js';
import { writeAtomically } from './atomic.js';
import { DEFAULT_MAX_IMAGE_PIXELS, pixelLimitProblem } from '../image-limits.js';
import { ffmpegVersion, findFfmpeg, frameTimestamps, passthroughArgs, probeVideo, VideoError, type FfmpegVersion, type VideoInfo } from './ffmpeg.js';
import { nonRegularFileProblem } from './image-file.js';

export const VIDEO_EXTENSIONS = ['.mp4', '.mov', '.mkv', '.webm', '.avi', '.m4v', '.gif'] as const;

export interface UpscaleVideoOptions extends Omit<UpscaleOptions, 'onProgress'> {
  /** Frames per model batch (default 2). */
  batchSize?: number;
  /** x264/VP9 constant rate factor (default 18; 0 = lossless x264). */
  crf?: number;
  /** Progress per finished frame, with an ETA. */
  onProgress?: ProgressCallback;
  /** Environment to look up FFMPEG_PATH / PATH in (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export interface UpscaleVideoResult extends VideoInfo {
  /** Frames written. */
  written: number;
}

function encoderArgs(out: string, crf: number): string[] {
  const ext = path.extname(out).toLowerCase();
  if (ext === '.webm') return ['-c:v', 'libvpx-vp9', '-crf', String(Math.max(crf, 15)), '-b:v', '0', '-pix_fmt', 'yuv420p', '-c:a', 'libopus'];
  if (ext === '.gif') return [];
  const pix = crf === 0 ? 'yuv444p' : 'yuv420p';
  return ['-c:v', 'libx264', '-crf', String(crf), '-preset', 'medium', '-pix_fmt', pix, '-c:a', 'copy'];
}

/** Collects the last lines of a process's stderr for error messages. */
function stderrTail(p: ChildProcessWithoutNullStreams): () => string {
  let tail = '';
  p.stderr.on('data', (d: Buffer) => (tail = (tail + d.toString()).slice(-3000)));
  return () => tail.trim().split('\n').slice(-3).join(' | ');
}

function exited(p: ChildProcessWithoutNullStreams): Promise<number | null> {
  return new Promise((resolve) => {
    if (p.exitCode !== null) resolve(p.exitCode);
    else p.once('close', (code) => resolve(code));
  });
}

async function write(stream: NodeJS.WritableStream, data: Uint8Array): Promise<void> {
  if (!stream.write(data)) await new Promise<void>((resolve, reject) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('error', fail);
      resolve();
    };
    const fail = (e: Error): void => {
      stream.off('drain', done);
      reject(e);
    };
    stream.once('drain', done);
    stream.once('error', fail);
  });
}

/**
 * An ffmpeg filter that gives frame N the timestamp `ticks[N]` in time base `tb` (frames past the list
 * continue at the last step): a balanced tree of comparisons, so each frame costs log2(frames) steps.
 */
export function timestampFilter(ticks: readonly number[], tb: [number, number]): string {
  const tree = (lo: number, hi: number): string => {
    if (hi - lo === 1) return String(ticks[lo]);
    const mid = (lo + hi) >> 1;
    return `if(lt(N,${mid}),${tree(lo, mid)},${tree(mid, hi)})`;
  };
  const n = ticks.length;
  const last = ticks[n - 1]!;
  const step = n > 1 ? Math.max(1, last - ticks[n - 2]!) : 1;
  return `settb=${tb[0]}/${tb[1]},setpts='if(gte(N,${n}),${last}+(N-${n - 1})*${step},${tree(0, n)})'`;
}

/**
 * Ticks (in the stream's time base, relative to the file's start as ffmpeg reads the audio) that keep
 * each input frame's own timestamp; strictly increasing, so that a muxer never refuses them.
 */
function outputTicks(pts: readonly number[], info: VideoInfo): number[] {
  const [num, den] = info.timeBase!;
  const start = Math.round((info.startTimeS * den) / num);
  const out: number[] = [];
  for (const t of pts) out.push(Math.max(t - start, out.length ? out[out.length - 1]! + 1 : 0));
  return out;
}

/** `-filter_script` before ffmpeg 7, `-/filter` (an option read from a file) since. */
function filterFileArgs(version: FfmpegVersion, file: string): string[] {
  return version !== undefined && version[0] < 7 ? ['-filter_script:v', file] : ['-/filter:v', file];
}

/** An encoder failure: an OutputError when ffmpeg says the disk is full or the folder is not writable, else a VideoError. */
function encodeError(output: string, how: string, tail: string): Error {
  if (/no space left|disk quota|read-only file system|permission denied/i.test(tail)) {
    return new C.OutputError(output, `cannot write the video: ${C.describeWriteError(new Error(tail))} (ffmpeg: ${tail})`);
  }
  return new VideoError(`encoding '${output}' failed (${how}): ${tail}`);
}

/** Upscales `input` to `output` (format from its extension: .mp4/.mov/.mkv → H.264, .webm → VP9). */
export async function upscaleVideo(vae: AsymmetricAutoencoderKL, input: string, output: string, options: UpscaleVideoOptions = {}): Promise<UpscaleVideoResult> {
  const outExt = path.extname(output).toLowerCase();
  if (!(VIDEO_EXTENSIONS as readonly string[]).includes(outExt)) {
    // checked before any frame is decoded: an image name for a video output would fail only at the end
    throw new C.ArgumentError(`the output of a video must be a video (${VIDEO_EXTENSIONS.join(' ')}), not '${path.basename(output)}'`);
  }
  const tools = findFfmpeg(options.env);
  const signal = options.signal;
  // A device or FIFO named .mp4 would be read forever: regular files only, refused before ffprobe runs.
  const notRegular = await nonRegularFileProblem(input).catch((e: NodeJS.ErrnoException) => {
    throw new VideoError(e.code === 'ENOENT' ? `'${input}' does not exist` : `'${input}' cannot be read (${e.message})`);
  });
  if (notRegular) throw new VideoError(`'${input}' ${notRegular}`);
  const info = await probeVideo(tools, input, signal);
  const version = await ffmpegVersion(tools, signal);
  const passthrough = passthroughArgs(version);
  const f = vae.upscaleFactor;
  const { width: w, height: h } = info;
  // The frame size from the container header, checked before any frame is decoded.
  const tooLarge = pixelLimitProblem(w, h, options.maxInputPixels ?? DEFAULT_MAX_IMAGE_PIXELS);
  if (tooLarge) throw new VideoError(`'${input}': video frames: ${tooLarge}`);
  const frameBytes = w * h * 3;
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? 2));
  const t0 = Date.now();
  let written = 0;

  // Each frame keeps its input timestamp (variable frame rate stays variable, in sync with the audio).
  const pts = info.timeBase ? await frameTimestamps(tools, input, signal) : undefined;
  const timing: string[] = ['-r', info.frameRate];
  let filterFile: string | undefined;
  if (pts && info.timeBase) {
    filterFile = path.join(os.tmpdir(), `sdxs-timestamps-${process.pid}-${Math.random().toString(36).slice(2)}.txt`);
    await fs.writeFile(filterFile, timestampFilter(outputTicks(pts, info), info.timeBase));
    timing.splice(0, 2, ...filterFileArgs(version, filterFile), ...passthrough, '-enc_time_base:v', `${info.timeBase[0]}/${info.timeBase[1]}`);
  }
  try {
    await writeVideo();
  } catch (e) {
    if (e instanceof C.SdxsError) throw e;
    throw new C.OutputError(output, `cannot write the video: ${C.describeWriteError(e)}`, { cause: e });
  } finally {
    if (filterFile) await fs.rm(filterFile, { force: true }).catch(() => {});
  }
  return { ...info, written };

  async function writeVideo(): Promise<void> {
    await writeAtomically(output, async (tmp) => {
      const dec = spawn(tools.ffmpeg, ['-v', 'error', '-nostdin', '-i', input, '-map', '0:v:0', '-f', 'rawvideo', '-pix_fmt', 'rgb24', ...passthrough, 'pipe:1']);
      const audio = info.hasAudio && path.extname(output).toLowerCase() !== '.gif' ? ['-map', '1:a?'] : [];
      const enc = spawn(tools.ffmpeg, [
        '-v', 'error', '-y',
        '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${w * f}x${h * f}`, '-framerate', info.frameRate, '-i', 'pipe:0',
        '-i', input, '-map', '0:v:0', ...audio, '-map_metadata', '1',
        ...timing, ...encoderArgs(output, options.crf ?? 18), tmp,
      ]);
      const decErr = stderrTail(dec);
      const encErr = stderrTail(enc);
      const decExit = exited(dec);
      const encExit = exited(enc);
      let encBroken: Error | undefined;
      enc.stdin.on('error', (e) => (encBroken = e));
      const kill = (): void => {
        dec.kill('SIGKILL');
        enc.kill('SIGKILL');
      };
      signal?.addEventListener('abort', kill, { once: true });
      try {
        let pending: Buffer = Buffer.alloc(0);
        let batch: Raster<Uint8Array>[] = [];
        const flush = async (): Promise<void> => {
          if (batch.length === 0) return;
          const outs = await upscaleBatch(vae, batch, { ...options, onProgress: undefined });
          for (const o of outs) {
            C.throwIfAborted(signal);
            if (encBroken) throw encodeError(output, 'its input pipe closed', encErr() || encBroken.message);
            await write(enc.stdin, o.data);
            written++;
            options.onProgress?.(sequenceProgress(written, info.frames, t0));
          }
          batch = [];
        };
        for await (const chunk of dec.stdout as AsyncIterable<Buffer>) {
          C.throwIfAborted(signal);
          pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
          while (pending.length >= frameBytes) {
            const frame = new Uint8Array(frameBytes);
            frame.set(pending.subarray(0, frameBytes));
            pending = pending.subarray(frameBytes);
            batch.push({ width: w, height: h, channels: 3, data: frame });
            if (batch.length === batchSize) await flush();
          }
        }
        C.throwIfAborted(signal);
        await flush();
        const dcode = await decExit;
        if (dcode !== 0) throw new VideoError(`decoding '${input}' failed (exit ${dcode}): ${decErr() || 'corrupt or truncated video'}`);
        if (written === 0) throw new VideoError(`'${input}' decoded to no frames`);
        enc.stdin.end();
        const ecode = await encExit;
        C.throwIfAborted(signal);
        if (ecode !== 0) throw encodeError(output, `exit ${ecode}`, encErr());
      } catch (e) {
        kill();
        await Promise.all([decExit, encExit]);
        throw signal?.aborted && !(e instanceof C.AbortError) ? new C.AbortError('video upscale aborted') : e;
      } finally {
        signal?.removeEventListener('abort', kill);
      }
    });
  }
}
