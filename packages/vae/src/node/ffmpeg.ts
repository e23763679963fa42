/** Locating and running the system ffmpeg/ffprobe (never downloaded). */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import * as C from '@sdxs/core';

export const FFMPEG_INSTALL_HINT =
  'install ffmpeg (Debian/Ubuntu: `sudo apt-get install -y ffmpeg`; macOS: `brew install ffmpeg`; Windows: `winget install ffmpeg`) ' +
  'or set FFMPEG_PATH to the ffmpeg binary';

/** ffmpeg is missing or failed. */
export class VideoError extends C.InputError {}

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  const exts = process.platform === 'win32' ? ['.exe', ''] : [''];
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    for (const ext of exts) if (executable(path.join(dir, name + ext))) return path.join(dir, name + ext);
  }
  return undefined;
}

export interface FfmpegTools {
  ffmpeg: string;
  ffprobe: string;
}

/** FFMPEG_PATH (and FFPROBE_PATH) or the PATH; a VideoError naming the install step when missing. */
export function findFfmpeg(env: NodeJS.ProcessEnv = process.env): FfmpegTools {
  const given = env.FFMPEG_PATH;
  if (given && !executable(given)) throw new VideoError(`FFMPEG_PATH is '${given}', which is not an executable file: ${FFMPEG_INSTALL_HINT}`);
  const ffmpeg = given ?? onPath('ffmpeg', env);
  if (!ffmpeg) throw new VideoError(`ffmpeg was not found on the PATH; video needs it: ${FFMPEG_INSTALL_HINT}`);
  const sibling = path.join(path.dirname(ffmpeg), process.platform === 'win32' ? 'ffprobe.exe' : 'ffprobe');
  const ffprobe = env.FFPROBE_PATH ?? (executable(sibling) ? sibling : onPath('ffprobe', env));
  if (!ffprobe) throw new VideoError(`ffprobe (part of ffmpeg) was not found next to ${ffmpeg} or on the PATH: ${FFMPEG_INSTALL_HINT}`);
  return { ffmpeg, ffprobe };
}

/** An ffmpeg version: [major, minor], or undefined for a build that does not say (git snapshots). */
export type FfmpegVersion = [number, number] | undefined;

/** Parses the first line of `ffmpeg -version` ('ffmpeg version 4.4.2-0ubuntu0.22.04.1', 'ffmpeg version n6.1', 'N-112233-g…'). */
export function parseFfmpegVersion(firstLine: string): FfmpegVersion {
  const m = /version\s+n?(\d+)\.(\d+)/.exec(firstLine);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/**
 * The decoder flag that passes frames through unchanged: `-fps_mode passthrough` since ffmpeg 5.1,
 * `-vsync passthrough` before (Ubuntu 22.04 ships 4.4). Unknown (git) builds are taken as recent.
 */
export function passthroughArgs(version: FfmpegVersion): string[] {
  const old = version !== undefined && (version[0] < 5 || (version[0] === 5 && version[1] < 1));
  return old ? ['-vsync', 'passthrough'] : ['-fps_mode', 'passthrough'];
}

/** The version of an ffmpeg binary; a VideoError naming the install step when it does not run. */
export async function ffmpegVersion(tools: FfmpegTools, signal?: AbortSignal): Promise<FfmpegVersion> {
  const out = await runTool(tools.ffmpeg, ['-hide_banner', '-version'], 'checking the ffmpeg version', signal);
  return parseFfmpegVersion(out.split('\n')[0] ?? '');
}

/** Runs a tool to completion, returning stdout; a VideoError with stderr's tail on failure. */
export function runTool(bin: string, args: string[], what: string, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], signal });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    p.on('error', (e) => reject(signal?.aborted ? new C.AbortError() : new VideoError(`${what}: cannot run ${bin} (${e.message}): ${FFMPEG_INSTALL_HINT}`)));
    p.on('close', (code) => (code === 0 ? resolve(out) : reject(new VideoError(`${what} failed (exit ${code}): ${err.trim().split('\n').slice(-3).join(' | ')}`))));
  });
}

export interface VideoInfo {
  width: number;
  height: number;
  /** Exact frame rate as ffmpeg writes it, e.g. '30000/1001'. */
  frameRate: string;
  fps: number;
  /** Frame count when the container states it, else estimated from the duration. */
  frames: number | undefined;
  durationS: number | undefined;
  hasAudio: boolean;
  /** The video stream's time base as [num, den] (e.g. [1, 15360]), when stated. */
  timeBase: [number, number] | undefined;
  /** The file's start time in seconds (its streams are shifted by it when read), 0 when not stated. */
  startTimeS: number;
}

interface ProbeStream {
  codec_type?: string;
  width?: number;
  height?: number;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  nb_frames?: string;
  time_base?: string;
  duration?: string;
  side_data_list?: { rotation?: number }[];
  tags?: { rotate?: string };
}

function rate(s: string | undefined): number {
  if (!s) return NaN;
  const [a, b] = s.split('/').map(Number);
  return b ? a! / b : a!;
}

export async function probeVideo(tools: FfmpegTools, file: string, signal?: AbortSignal): Promise<VideoInfo> {
  const json = await runTool(tools.ffprobe, ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', file], `reading video '${file}'`, signal);
  const info = JSON.parse(json) as { streams?: ProbeStream[]; format?: { duration?: string; start_time?: string } };
  const streams = info.streams ?? [];
  const v = streams.find((s) => s.codec_type === 'video');
  if (!v || !v.width || !v.height) throw new VideoError(`'${file}' has no video stream`);
  const rot = Math.abs(Number(v.side_data_list?.find((d) => d.rotation !== undefined)?.rotation ?? v.tags?.rotate ?? 0)) % 180;
  const [width, height] = rot === 90 ? [v.height, v.width] : [v.width, v.height];
  const frameRate = rate(v.avg_frame_rate) > 0 ? v.avg_frame_rate! : v.r_frame_rate ?? '25';
  const fps = rate(frameRate);
  const durationS = Number(v.duration ?? info.format?.duration);
  const nb = Number(v.nb_frames);
  const frames = Number.isFinite(nb) && nb > 0 ? nb : Number.isFinite(durationS) && fps > 0 ? Math.round(durationS * fps) : undefined;
  const tb = /^(\d+)\/(\d+)$/.exec(v.time_base ?? '');
  const timeBase: [number, number] | undefined = tb && Number(tb[1]) > 0 && Number(tb[2]) > 0 ? [Number(tb[1]), Number(tb[2])] : undefined;
  const start = Number(info.format?.start_time);
  return {
    width,
    height,
    frameRate,
    fps,
    frames,
    durationS: Number.isFinite(durationS) ? durationS : undefined,
    hasAudio: streams.some((s) => s.codec_type === 'audio'),
    timeBase,
    startTimeS: Number.isFinite(start) ? start : 0,
  };
}

/**
 * The presentation timestamp of every frame of the first video stream, in its time base, in decoding
 * output order (ffprobe decodes the stream: cheap next to upscaling). Undefined when any frame has none.
 */
export async function frameTimestamps(tools: FfmpegTools, file: string, signal?: AbortSignal): Promise<number[] | undefined> {
  const out = await runTool(tools.ffprobe, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=best_effort_timestamp', '-of', 'csv=p=0', file], `reading the frame timestamps of '${file}'`, signal);
  const ts: number[] = [];
  for (const line of out.split('\n')) {
    const field = line.split(',')[0]!.trim();
    if (field === '') continue;
    if (!/^-?\d+$/.test(field)) return undefined;
    ts.push(Number(field));
  }
  return ts.length ? ts : undefined;
}
