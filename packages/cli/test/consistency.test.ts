/** One rule for generate and upscale: existing outputs need --force; each writes its paths on stdout; help names every backend. */
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import * as C from '@sdxs/core';
import { beforeAll, describe, expect, onTestFinished, test } from 'vitest';
import { runCli, tempDir } from './helpers.js';

let dir: string;
const env = { SDXS_BACKEND: 'cpu', HF_HUB_OFFLINE: '1' };
const cli = (argv: string[]) => runCli(argv, env, new AbortController().signal, dir);

beforeAll(async () => {
  dir = await tempDir('sdxs-cli-consistency-');
  expect((await cli(['make-tiny-model', 'tiny'])).code).toBe(0);
  await sharp({ create: { width: 16, height: 16, channels: 3, background: '#3080c0' } }).png().toFile(path.join(dir, 'in.png'));
}, 60_000);

describe('generate and upscale follow one rule', () => {
  test('an existing output is refused before any work unless --force, by both commands', async () => {
    const gen = ['generate', 'a red fox', '--model', 'tiny', '-W', '32', '-H', '32', '--steps', '1', '--seed', '3', '-o', 'fox.png'];
    await writeFile(path.join(dir, 'fox.png'), 'keep me');
    const refused = await cli(gen);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/fox\.png' exists; use --force to overwrite/);
    expect(refused.stderr).not.toMatch(/backend/); // refused before the backend or the model were touched
    expect(await readFile(path.join(dir, 'fox.png'), 'utf8')).toBe('keep me');
    const forced = await cli([...gen, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect((await sharp(path.join(dir, 'fox.png')).metadata()).width).toBe(32);

    const up = ['upscale', 'in.png', '-o', 'in-2x.png', '--model', 'tiny'];
    await writeFile(path.join(dir, 'in-2x.png'), 'keep me');
    const upRefused = await cli(up);
    expect(upRefused.code).toBe(2);
    expect(upRefused.stderr).toMatch(/in-2x\.png' exists; use --force to overwrite/);
    const upForced = await cli([...up, '-f']);
    expect(upForced.code, upForced.stderr).toBe(0);
  }, 120_000);

  test('both print the path of each file written on stdout, and nothing else there', async () => {
    const g = await cli(['generate', 'a lighthouse', '--model', 'tiny', '-W', '32', '-H', '32', '--steps', '1', '--batch', '2', '-o', 'l.png']);
    expect(g.code, g.stderr).toBe(0);
    expect(g.stdout).toBe(`${path.join(dir, 'l-1.png')}\n${path.join(dir, 'l-2.png')}\n`);
    const u = await cli(['upscale', 'in.png', '-o', 'up.png', '--model', 'tiny']);
    expect(u.code, u.stderr).toBe(0);
    expect(u.stdout).toBe(`${path.join(dir, 'up.png')}\n`);
    expect((await stat(path.join(dir, 'up.png'))).size).toBeGreaterThan(0);
  }, 120_000);

  test('--refine shows the refined prompt on stderr (not under -q)', async () => {
    const r = await cli(['generate', 'a cat', '--refine', '--model', 'tiny', '-W', '32', '-H', '32', '--steps', '1', '--seed', '1', '-o', 'cat.png', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const refined = (JSON.parse(r.stdout) as { prompts: string[] }).prompts[0]!;
    const plain = await cli(['generate', 'a cat', '--refine', '--model', 'tiny', '-W', '32', '-H', '32', '--steps', '1', '--seed', '1', '-o', 'cat.png', '-f']);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stderr).toContain(`sdxs generate: refined prompt: ${refined}\n`);
    const quiet = await cli(['generate', 'a cat', '--refine', '--model', 'tiny', '-W', '32', '-H', '32', '--steps', '1', '--seed', '1', '-o', 'cat.png', '-f', '-q']);
    expect(quiet.stderr).toBe('');
  }, 180_000);

  test('sdxs --help names every registered backend, the ort-* ones included', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    for (const b of C.listBackends()) expect(r.stdout).toContain(b);
    expect(C.listBackends().filter((b) => b.startsWith('ort-')).length).toBeGreaterThan(0);
  });
});

describe('sdxs bench table', () => {
  test('a skipped backend gets a short numbered note under the table, not a paragraph in a cell', async () => {
    const { benchTable, shortReason } = await import('../src/commands/bench.js');
    const why = `backend 'tfjs-node' needs @tensorflow/tfjs-node: npm i @tensorflow/tfjs-node (${'Cannot find package, a long loader message '.repeat(6)})\nRequire stack:\n- /x/y.js`;
    const table = benchTable([
      { backend: 'cpu', loadMs: 10, encodeMs: 20, denoiseMs: 30, itPerSec: 1.5, decodeMs: 40, totalMs: 100, peakRssMiB: 300 },
      { backend: 'tfjs-node', skipped: why },
    ]);
    const lines = table.trim().split('\n');
    const cells = (l: string): number => l.split('|').length - 2;
    // every table row has the header's eight cells, none longer than a few words
    for (const l of lines.slice(0, 4)) expect(cells(l), l).toBe(8);
    expect(lines[3]).toBe('| tfjs-node | skipped [1] | | | | | | |');
    expect(Math.max(...lines.slice(0, 4).flatMap((l) => l.split('|').map((c) => c.trim().length)))).toBeLessThan(20);
    // the note: the reason's first line, cut short at a word
    expect(lines[5]).toBe(`[1] tfjs-node: ${shortReason(why)}`);
    expect(shortReason(why).length).toBeLessThanOrEqual(102);
    expect(shortReason(why)).toMatch(/^backend 'tfjs-node' needs @tensorflow\/tfjs-node: npm i @tensorflow\/tfjs-node .* …$/);
    expect(table).not.toContain('Require stack');
  });
});

describe('offline without a model', () => {
  test('an unreachable hub points to the tiny model and --model, and says its pictures are noise', async () => {
    // the hub client reads the process's environment: a port nothing listens on, an empty cache
    const env2 = { SDXS_BACKEND: 'cpu', HF_ENDPOINT: 'http://127.0.0.1:9', HF_HUB_OFFLINE: '', HF_HUB_CACHE: path.join(dir, 'empty-cache') };
    const saved = Object.fromEntries(Object.keys(env2).map((k) => [k, process.env[k]]));
    Object.assign(process.env, env2);
    onTestFinished(() => {
      for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    });
    const r = await runCli(['generate', 'a red fox', '-o', 'x.png'], env2, new AbortController().signal, dir);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/cannot reach http:\/\/127\.0\.0\.1:9/);
    expect(r.stderr).toContain('sdxs make-tiny-model tiny');
    expect(r.stderr).toContain('--model tiny');
    expect(r.stderr).toMatch(/noise/);
    const up = await runCli(['upscale', 'in.png', '-o', 'y.png'], env2, new AbortController().signal, dir);
    expect(up.code).toBe(1);
    expect(up.stderr).toContain('sdxs upscale photo.png --model tiny');
    // a local model that is simply wrong gets no such hint
    const wrong = await runCli(['generate', 'x', '--model', 'in.png', '-o', 'z.png'], env2, new AbortController().signal, dir);
    expect(wrong.stderr).not.toContain('make-tiny-model');
  }, 60_000);
});
