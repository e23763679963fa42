import { expect, test } from 'vitest';
import { COMMANDS } from '../src/commands/index.js';
import { runCli } from './helpers.js';

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
