import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { expect, test } from 'vitest';
import { COMMANDS } from '../src/commands/index.js';
import { abortOnSignals, type SignalSource } from '../src/io.js';
import { ProgressBar } from '../src/progress.js';
import { runCli, tempDir } from './helpers.js';

test('every command documents itself with --help and is listed by sdxs --help', async () => {
  const top = await runCli(['--help']);
  expect(top.code).toBe(0);
  for (const c of COMMANDS) {
    expect(top.stdout).toContain(`  ${c.name}`);
    const r = await runCli(c.name === 'data' ? ['data', 'convert', '--help'] : [c.name, '--help']);
    expect(r.code, c.name).toBe(0);
    expect(r.stdout.length, c.name).toBeGreaterThan(100);
  }
});

test('no command is a usage error (2); --version prints the version', async () => {
  expect((await runCli([])).code).toBe(2);
  const v = await runCli(['--version']);
  expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
});

test('unknown options of the train and data commands are usage errors', async () => {
  expect((await runCli(['train', '--bogus'])).code).toBe(2);
  expect((await runCli(['data', 'convert', '--bogus'])).code).toBe(2);
  expect((await runCli(['data', 'frob'])).code).toBe(2);
});

test('SIGTERM aborts like Ctrl-C; a second signal exits at once with 130', () => {
  const source = new EventEmitter();
  const controller = new AbortController();
  const exits: number[] = [];
  abortOnSignals(controller, source as unknown as SignalSource, (c) => exits.push(c));
  source.emit('SIGTERM');
  expect(controller.signal.aborted).toBe(true);
  expect(controller.signal.reason).toMatch(/SIGTERM/);
  expect(exits).toEqual([]);
  source.emit('SIGINT');
  expect(exits).toEqual([130]);
});

test('sdxs data convert follows Ctrl-C: an aborted run exits 130 (interrupted)', async () => {
  const dir = await tempDir('sdxs-cli-data-');
  await sharp({ create: { width: 64, height: 64, channels: 3, background: '#808080' } }).png().toFile(path.join(dir, 'a.png'));
  const ac = new AbortController();
  ac.abort('interrupted by Ctrl-C');
  const r = await runCli(['data', 'convert', '--in', dir, '--out', path.join(dir, 'out'), '--buckets', '64:64:64'], {}, ac.signal);
  expect(r.code).toBe(130);
  expect(r.stdout).toBe('');
});

test('sdxs data convert: -o names the dataset, --json prints one JSON summary on stdout, missing arguments exit 2', async () => {
  const dir = await tempDir('sdxs-cli-data-o-');
  await sharp({ create: { width: 64, height: 64, channels: 3, background: '#808080' } }).png().toFile(path.join(dir, 'a.png'));
  await sharp({ create: { width: 96, height: 64, channels: 3, background: '#204080' } }).png().toFile(path.join(dir, 'b.png'));
  const out = path.join(dir, 'ds');
  const r = await runCli(['data', 'convert', '--in', dir, '-o', out, '--buckets', '64:64:64', '--min-side', '16', '--workers', '1', '--json']);
  expect(r.code, r.stderr).toBe(0);
  const lines = r.stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  const summary = JSON.parse(lines[0]!) as { out: string; processed: number; items: number };
  expect(summary.out).toBe(out);
  expect(summary.processed).toBe(2);
  expect(summary.items).toBe(2);
  expect(existsSync(path.join(out, 'index.json'))).toBe(true);
  // without --json: stdout stays empty, the summary is one line on stderr
  const plain = await runCli(['data', 'convert', '--in', dir, '--output', path.join(dir, 'ds2'), '--buckets', '64:64:64', '--min-side', '16', '--workers', '1']);
  expect(plain.code, plain.stderr).toBe(0);
  expect(plain.stdout).toBe('');
  expect(plain.stderr).toMatch(/converted 2 sources .* 2 items/);
  const missing = await runCli(['data', 'convert', '--in', dir]);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toMatch(/usage error: --out is required/);
  expect((await runCli(['data', 'convert', '--in', dir, '-o', out, '--workers', 'x'])).code).toBe(2);
});

test('make-tiny-model writes a model that generate runs offline in seconds (the README line)', async () => {
  const dir = await tempDir('sdxs-cli-tiny-');
  const made = await runCli(['make-tiny-model', 'tiny'], {}, new AbortController().signal, dir);
  expect(made.code, made.stderr).toBe(0);
  expect((await runCli(['make-tiny-model', 'tiny'], {}, new AbortController().signal, dir)).code).toBe(2); // not empty: --force
  const t0 = performance.now();
  const r = await runCli(['generate', 'a red fox', '--model', 'tiny', '-W', '256', '-H', '256', '--steps', '4', '-o', 'fox.png'], { HF_HUB_OFFLINE: '1', SDXS_BACKEND: 'cpu', HF_ENDPOINT: 'http://127.0.0.1:9' }, new AbortController().signal, dir);
  expect(r.code, r.stderr).toBe(0);
  expect(performance.now() - t0).toBeLessThan(60_000);
  const meta = await sharp(path.join(dir, 'fox.png')).metadata();
  expect([meta.width, meta.height]).toEqual([256, 256]);
  // without a terminal each stage of a seconds-long run is one line (its title, count and time), plus the backend line
  const lines = r.stderr.trim().split('\n');
  const titles = lines.slice(1).map((l) => l.replace(/ \d.*$/, ''));
  expect(lines[0]).toMatch(/^sdxs generate: backend cpu$/);
  for (const l of lines.slice(1)) expect(l).toMatch(/^[\w. ]+ \d+\/\d+ \(\d\d:\d\d\)$/);
  expect(new Set(titles).size, r.stderr).toBe(titles.length);
  expect(r.stderr).not.toContain('\r');
  expect(r.stderr).not.toMatch(/[█░]/);
  for (const m of r.stderr.matchAll(/([\d.]+) (?:it|items)\/s/g)) expect(Number(m[1])).toBeLessThan(1000);
}, 120_000);

test('the make-tiny-model model has a vision tower: generate --image-prompt and refine --image run on it offline', async () => {
  const dir = await tempDir('sdxs-cli-tiny-vision-');
  expect((await runCli(['make-tiny-model', 'tiny'], {}, new AbortController().signal, dir)).code).toBe(0);
  await sharp({ create: { width: 120, height: 80, channels: 3, background: '#c05020' } }).png().toFile(path.join(dir, 'photo.png'));
  const env = { HF_HUB_OFFLINE: '1', SDXS_BACKEND: 'cpu', HF_ENDPOINT: 'http://127.0.0.1:9' };
  const g = await runCli(['generate', '--image-prompt', 'photo.png', 'at night', '--model', 'tiny', '-W', '64', '-H', '64', '--steps', '2', '-o', 'ip.png'], env, new AbortController().signal, dir);
  expect(g.code, g.stderr).toBe(0);
  expect(await sharp(path.join(dir, 'ip.png')).metadata()).toMatchObject({ width: 64, height: 64 });
  const r = await runCli(['refine', '--image', 'photo.png', '--model', 'tiny', '--max-tokens', '6', '--seed', '2', '--json'], env, new AbortController().signal, dir);
  expect(r.code, r.stderr).toBe(0);
  expect(JSON.parse(r.stdout)).toMatchObject({ image: 'photo.png' });
}, 120_000);

test('progress without a terminal: a short stage is one line; a long one a line every few seconds, then its last', () => {
  let now = 0;
  const out: string[] = [];
  const stream = { isTTY: false, write: (s: string) => out.push(s) } as unknown as NodeJS.WriteStream;
  const quick = new ProgressBar('load unet', { stream, now: () => now, unit: 'items' });
  for (let i = 1; i <= 20; i++) {
    now += 50;
    quick.update(i, 20);
  }
  quick.done();
  expect(out).toEqual(['load unet 20/20 (00:01)\n']);
  out.length = 0;
  now = 0;
  const slow = new ProgressBar('denoise', { stream, now: () => now, throttleMs: 5000 });
  for (let i = 1; i <= 12; i++) {
    now += 1000;
    slow.update(i, 12);
  }
  slow.done();
  expect(out).toEqual(['denoise  42% 5/12 1.00 it/s ETA 00:07\n', 'denoise  83% 10/12 1.00 it/s ETA 00:02\n', 'denoise 12/12 (00:12)\n']);
  expect(out.join('')).not.toContain('\r');
});

test('progress: the first tick shows no rate, later ones a measured one', () => {
  let now = 0;
  const lines: string[] = [];
  const stream = { isTTY: false, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream;
  const bar = new ProgressBar('denoise', { stream, now: () => now, throttleMs: 0 });
  now = 5; // a few ms after the bar was made, one step is reported
  expect(bar.render(1, 40)).toBe('denoise   3% 1/40 -- it/s ETA --:--');
  now = 2005;
  expect(bar.render(3, 40)).toBe('denoise   8% 3/40 1.00 it/s ETA 00:37');
});

test('img2img defaults to the input size rounded to a multiple of 16, and says so', async () => {
  const dir = await tempDir('sdxs-cli-i2i-');
  expect((await runCli(['make-tiny-model', 'tiny'], {}, new AbortController().signal, dir)).code).toBe(0);
  await sharp({ create: { width: 100, height: 60, channels: 3, background: '#3080c0' } }).png().toFile(path.join(dir, 'in.png'));
  const env = { SDXS_BACKEND: 'cpu' };
  const r = await runCli(['generate', 'x', '--model', 'tiny', '--image', 'in.png', '--steps', '2', '-o', 'out.png'], env, new AbortController().signal, dir);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).toMatch(/size 96x64 from the input image \(100x60/);
  expect(await sharp(path.join(dir, 'out.png')).metadata()).toMatchObject({ width: 96, height: 64 });
  const w = await runCli(['generate', 'x', '--model', 'tiny', '--image', 'in.png', '--steps', '2', '-W', '160', '-o', 'out2.png'], env, new AbortController().signal, dir);
  expect(w.code, w.stderr).toBe(0);
  expect(await sharp(path.join(dir, 'out2.png')).metadata()).toMatchObject({ width: 160, height: 96 });
}, 120_000);
