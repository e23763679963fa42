import { EventEmitter } from 'node:events';
import path from 'node:path';
import sharp from 'sharp';
import { expect, test } from 'vitest';
import { COMMANDS } from '../src/commands/index.js';
import { abortOnSignals, type SignalSource } from '../src/io.js';
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
