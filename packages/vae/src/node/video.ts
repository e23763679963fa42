/**
 * 2× video upscaling through the system ffmpeg: frames stream in as raw RGB over a pipe, go through
 * the model in batches and stream out to an encoder that takes the original frame rate and copies the
 * audio. Only one batch of frames is held at a time, so memory does not grow with the video's length.
 * The output is written to a temporary file and renamed at the end; on failure or abort it is removed.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import * as C from '@sdxs/core';
import type { AsymmetricAutoencoderKL } from '../autoencoder.js';
import { sequenceProgress, type ProgressCallback } from '../upscale/progress.js';
import type { Raster } from '../upscale/raster.js';
import { upscaleBatch, type UpscaleOptions } from '../upscale/upscale.js';
import { writeAtomically } from './atomic.js';
import { DEFAULT_MAX_IMAGE_PIXELS, pixelLimitProblem } from '../image-limits.js';
import { ffmpegVersion, findFfmpeg, passthroughArgs, probeVideo, VideoError, type VideoInfo } from './ffmpeg.js';

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

/** Upscales `input` to `output` (format from its extension: .mp4/.mov/.mkv → H.264, .webm → VP9). */
export async function upscaleVideo(vae: AsymmetricAutoencoderKL, input: string, output: string, options: UpscaleVideoOptions = {}): Promise<UpscaleVideoResult> {
  const tools = findFfmpeg(options.env);
  const signal = options.signal;
  const info = await probeVideo(tools, input, signal);
  const passthrough = passthroughArgs(await ffmpegVersion(tools, signal));
  const f = vae.upscaleFactor;
  const { width: w, height: h } = info;
  // The frame size from the container header, checked before any frame is decoded.
  const tooLarge = pixelLimitProblem(w, h, options.maxInputPixels ?? DEFAULT_MAX_IMAGE_PIXELS);
  if (tooLarge) throw new VideoError(`'${input}': video frames: ${tooLarge}`);
  const frameBytes = w * h * 3;
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? 2));
  const t0 = Date.now();
  let written = 0;

  await writeAtomically(output, async (tmp) => {
    const dec = spawn(tools.ffmpeg, ['-v', 'error', '-nostdin', '-i', input, '-map', '0:v:0', '-f', 'rawvideo', '-pix_fmt', 'rgb24', ...passthrough, 'pipe:1']);
    const audio = info.hasAudio && path.extname(output).toLowerCase() !== '.gif' ? ['-map', '1:a?'] : [];
    const enc = spawn(tools.ffmpeg, [
      '-v', 'error', '-y',
      '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${w * f}x${h * f}`, '-framerate', info.frameRate, '-i', 'pipe:0',
      '-i', input, '-map', '0:v:0', ...audio, '-map_metadata', '1',
      ...encoderArgs(output, options.crf ?? 18), '-r', info.frameRate, tmp,
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
          if (encBroken) throw new VideoError(`encoding '${output}' failed: ${encErr() || encBroken.message}`);
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
      if (ecode !== 0) throw new VideoError(`encoding '${output}' failed (exit ${ecode}): ${encErr()}`);
    } catch (e) {
      kill();
      await Promise.all([decExit, encExit]);
      throw signal?.aborted && !(e instanceof C.AbortError) ? new C.AbortError('video upscale aborted') : e;
    } finally {
      signal?.removeEventListener('abort', kill);
    }
  });
  return { ...info, written };
}
