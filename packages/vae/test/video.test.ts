import { execFileSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as C from '@sdxs/core';
import { findFfmpeg, parseFfmpegVersion, passthroughArgs, probeVideo, upscaleVideo, VideoError, type FfmpegTools } from '../src/node/index.js';
import { skipUnless } from '@sdxs/core/testing';
import { tinyVae } from './helpers/model.js';

let tools: FfmpegTools | undefined;
let missing = '';
try {
  tools = findFfmpeg();
} catch (e) {
  missing = (e as Error).message;
}
// ffmpeg: .ci/run installs it
const NO_FFMPEG = skipUnless(tools !== undefined, `vae video tests: ${missing}`, { ciRequired: true });

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

describe.skipIf(NO_FFMPEG)('video', () => {
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

  /** Every frame's presentation time in seconds, as ffprobe reads it. */
  const ptsOf = (file: string): number[] =>
    execFileSync(tools!.ffprobe, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=best_effort_timestamp_time', '-of', 'csv=p=0', file], { encoding: 'utf8' })
      .split('\n')
      .map((l) => l.split(',')[0]!.trim())
      .filter((l) => l !== '')
      .map(Number);

  test.each([['.mp4'], ['.mkv'], ['.webm']])('a variable-frame-rate video keeps every input timestamp (%s out), not a uniform retiming', async (ext) => {
    // pts 0, 0.1 … 0.5, then 1.0 and 1.5: ffmpeg-made, with an audio track, as a phone's VFR clip would be
    if (!existsSync(at('vfr.mp4'))) {
      ff([
        '-f', 'lavfi', '-i', 'testsrc=size=24x16:rate=10', '-f', 'lavfi', '-i', 'sine=frequency=300:sample_rate=22050:duration=1.6',
        '-frames:v', '8', '-vf', "setpts='if(lt(N,6),N*0.1,0.5+(N-5)*0.5)/TB'", ...passthroughArgs(parseFfmpegVersion(execFileSync(tools!.ffmpeg, ['-version'], { encoding: 'utf8' }).split('\n')[0]!)),
        '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', at('vfr.mp4'),
      ]);
    }
    const input = ptsOf(at('vfr.mp4'));
    expect(input.map((t) => Math.round(t * 100) / 100)).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5, 1, 1.5]);
    const vae = await tinyVae();
    const r = await upscaleVideo(vae, at('vfr.mp4'), at(`vfr-2x${ext}`));
    expect(r.written).toBe(8);
    const out = ptsOf(at(`vfr-2x${ext}`));
    expect(out.length).toBe(8);
    // the same spacing (webm stores milliseconds); a container may shift the whole track by the audio
    // encoder's priming delay (mkv, webm), which moves audio and video together
    for (let i = 0; i < 8; i++) expect(Math.abs(out[i]! - out[0]! - (input[i]! - input[0]!))).toBeLessThan(0.0015);
    expect(Math.abs(out[0]! - input[0]!)).toBeLessThan(0.05);
    expect((await probeVideo(tools!, at(`vfr-2x${ext}`))).hasAudio).toBe(true);
  });

  test('an image name as the output of a video is a usage error before any frame is decoded', async () => {
    const vae = await tinyVae();
    const t0 = performance.now();
    const e = await upscaleVideo(vae, at('in.mp4'), at('in-2x.png')).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(C.ArgumentError);
    expect((e as Error).message).toMatch(/output of a video must be a video .*not 'in-2x\.png'/);
    expect(performance.now() - t0).toBeLessThan(500);
    expect(existsSync(at('in-2x.png'))).toBe(false);
  });

  test('a video path that is a character device or a FIFO is refused at once', async () => {
    const vae = await tinyVae();
    if (existsSync('/dev/zero')) {
      await fs.symlink('/dev/zero', at('zero.mp4'));
      const e = await upscaleVideo(vae, at('zero.mp4'), at('zero-2x.mp4')).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(VideoError);
      expect((e as Error).message).toMatch(/is a character device \(through a symlink\), not a regular file/);
    }
    if (execFileSync('sh', ['-c', 'command -v mkfifo || true'], { encoding: 'utf8' }).trim()) {
      execFileSync('mkfifo', [at('pipe.mkv')]);
      const t0 = performance.now();
      const e = await upscaleVideo(vae, at('pipe.mkv'), at('pipe-2x.mkv')).catch((x: unknown) => x);
      expect((e as Error).message).toMatch(/FIFO/);
      expect(performance.now() - t0).toBeLessThan(2000);
    }
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

  test.skipIf(NO_FFMPEG || skipUnless(process.platform !== 'win32', 'the ffmpeg 4.4 stand-in is a shell script', { ciRequired: false }))('a video upscales with an ffmpeg 4.4 that rejects -fps_mode; oversized frames are refused from the header', async () => {
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
