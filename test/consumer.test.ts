import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { expect, test } from 'vitest';

// Packs the built packages and installs them into an empty project outside the workspace (see tools/consumer-test.mjs).
test('packed packages install and run outside the workspace under Node and Bun', () => {
  const out = execFileSync(process.execPath, [path.resolve(__dirname, '../tools/consumer-test.mjs')], { encoding: 'utf8', timeout: 600_000 });
  expect(out).toContain('consumer test passed');
}, 600_000);
