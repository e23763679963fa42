import { execFileSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as C from '@sdxs/core';
import { findFfmpeg, parseFfmpegVersion, passthroughArgs, probeVideo, upscaleVideo, VideoError, type FfmpegTools } from '../src/node/index.js';
import { tinyVae } from './helpers/model.js';

let tools: FfmpegTools | undefined;
let missing = '';
try {
  tools = findFfmpeg();
} catch (e) {
  missing = (e as Error).message;
  console.warn(`[vae video tests] skipped: ${missing}`);
}
const maybe = tools ? describe : describe.skip;

let dir: string;
const at = (n: string): string => path.join(dir, n);
const ff = (args: string[]): void => void execFileSync(tools!.ffmpeg, ['-v', 'error', '-y', ...args]);

/** Decoded frames of a video as rgb24 buffers. */
function frames(file: string, w: number, h: number): Buffer[] {
  const raw = execFileSync(tools!.ffmpeg, ['-v', 'error', '-i', file, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { maxBuffer: 1 << 28 });
  const out: Buffer[] = [];
  for (let o = 0; o + w * h * 3 <= raw.length; o += w * h * 3) out.push(raw.subarray(o, o + w * h * 3));
  return out;
}

maybe('video', () => {
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sdxs-vae-video-'));
    // 6 frames of a moving test pattern at 12 fps with a sine audio track; a still scene; a corrupt file.
    ff(['-f', 'lavfi', '-i', 'testsrc=size=40x24:rate=12', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=22050', '-t', '0.5', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', at('in.mp4')]);
    ff(['-f', 'lavfi', '-i', 'color=c=0x336699:size=32x16:rate=10', '-t', '0.4', '-c:v', 'libx264', '-crf', '0', '-pix_fmt', 'yuv444p', at('still.mp4')]);
    const good = await fs.readFile(at('in.mp4'));
    await fs.writeFile(at('corrupt.mp4'), good.subarray(0, 600));
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  test('upscales 2x, keeps frame rate, frame count and audio, reports progress', async () => {
    const vae = await tinyVae();
    const seen: { done: number; etaMs: number | undefined }[] = [];
    const before = C.memory().numTensors;
    const r = await upscaleVideo(vae, at('in.mp4'), at('out.mp4'), { batchSize: 4, onProgress: (p) => seen.push({ done: p.done, etaMs: p.etaMs }) });
    expect(C.memory().numTensors).toBe(before);
    const info = await probeVideo(tools!, at('out.mp4'));
    expect([info.width, info.height]).toEqual([80, 48]);
    expect(info.fps).toBeCloseTo(12, 5);
    expect(info.hasAudio).toBe(true);
    expect(info.frames).toBe(r.written);
    expect(r.written).toBe(6);
    expect(seen.map((s) => s.done)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(seen[2]!.etaMs).toBeTypeOf('number');
    expect((await fs.readdir(dir)).filter((f) => f.includes('partial'))).toEqual([]);
  });

  test('a still scene gives identical output frames', async () => {
    const vae = await tinyVae();
    await upscaleVideo(vae, at('still.mp4'), at('still-2x.mp4'), { batchSize: 3, crf: 0 });
    const fr = frames(at('still-2x.mp4'), 64, 32);
    expect(fr.length).toBe(4);
    for (const f of fr) expect(f.equals(fr[0]!)).toBe(true);
  });

  test('abort leaves no output file', async () => {
    const vae = await tinyVae();
    const ac = new AbortController();
    const p = upscaleVideo(vae, at('in.mp4'), at('aborted.mp4'), { batchSize: 1, signal: ac.signal, onProgress: (e) => e.done === 2 && ac.abort() });
    await expect(p).rejects.toBeInstanceOf(C.AbortError);
    expect(existsSync(at('aborted.mp4'))).toBe(false);
    expect((await fs.readdir(dir)).filter((f) => f.includes('partial'))).toEqual([]);
  });

  test('corrupt video and missing ffmpeg give clear errors and no output', async () => {
    const vae = await tinyVae();
    await expect(upscaleVideo(vae, at('corrupt.mp4'), at('c.mp4'))).rejects.toBeInstanceOf(VideoError);
    expect(existsSync(at('c.mp4'))).toBe(false);
    await expect(upscaleVideo(vae, at('in.mp4'), at('n.mp4'), { env: { PATH: '/nonexistent' } })).rejects.toThrow(/apt-get install -y ffmpeg/);
    expect(() => findFfmpeg({ FFMPEG_PATH: '/no/such/ffmpeg', PATH: '' })).toThrow(/FFMPEG_PATH/);
  });
});

if (!tools) test.skip(`video tests: ${missing}`, () => {});

describe('ffmpeg versions', () => {
  test('the version is parsed and older ffmpeg (< 5.1, no -fps_mode) gets -vsync', () => {
    expect(parseFfmpegVersion('ffmpeg version 4.4.2-0ubuntu0.22.04.1 Copyright (c) 2000-2021')).toEqual([4, 4]);
    expect(parseFfmpegVersion('ffmpeg version n6.1.1 Copyright')).toEqual([6, 1]);
    expect(parseFfmpegVersion('ffmpeg version N-112233-gabcdef Copyright')).toBeUndefined();
    expect(passthroughArgs([4, 4])).toEqual(['-vsync', 'passthrough']);
    expect(passthroughArgs([5, 0])).toEqual(['-vsync', 'passthrough']);
    expect(passthroughArgs([5, 1])).toEqual(['-fps_mode', 'passthrough']);
    expect(passthroughArgs(undefined)).toEqual(['-fps_mode', 'passthrough']);
  });

  test.skipIf(!tools || process.platform === 'win32')('a video upscales with an ffmpeg 4.4 that rejects -fps_mode; oversized frames are refused from the header', async () => {
    const d = await fs.mkdtemp(path.join(os.tmpdir(), 'sdxs-vae-ff44-'));
    // A stand-in for Ubuntu 22.04's ffmpeg 4.4: reports 4.4 and refuses -fps_mode, as 4.4 does.
    const fake = path.join(d, 'ffmpeg');
    await fs.writeFile(
      fake,
      `#!/bin/sh\ncase " $* " in *" -version "*) echo "ffmpeg version 4.4.2-0ubuntu0.22.04.1 Copyright (c) 2000-2021"; exit 0;; *" -fps_mode "*) echo "Unrecognized option 'fps_mode'." >&2; exit 1;; esac\nexec ${JSON.stringify(tools!.ffmpeg)} "$@"\n`,
      { mode: 0o755 },
    );
    execFileSync(tools!.ffmpeg, ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=24x16:rate=8', '-t', '0.25', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', path.join(d, 'in.mp4')]);
    const vae = await tinyVae();
    const env = { ...process.env, FFMPEG_PATH: fake, FFPROBE_PATH: tools!.ffprobe };
    const r = await upscaleVideo(vae, path.join(d, 'in.mp4'), path.join(d, 'out.mp4'), { env });
    expect(r.written).toBeGreaterThan(0);
    const probe = await probeVideo(tools!, path.join(d, 'out.mp4'));
    expect([probe.width, probe.height]).toEqual([48, 32]);
    await expect(upscaleVideo(vae, path.join(d, 'in.mp4'), path.join(d, 'big.mp4'), { env, maxInputPixels: 100 })).rejects.toThrow(/over the limit of 100/);
    expect(existsSync(path.join(d, 'big.mp4'))).toBe(false);
    await fs.rm(d, { recursive: true, force: true });
  });
});
