import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { expect, test } from 'vitest';

// @sdxs/vae alone from its packed tarball: no backend packages, cpu upscales, auto takes an installed backend,
// and a DOM project type-checks without @types/node (see tools/lean-install-test.mjs).
test('@sdxs/vae installs without any backend package and type-checks in a browser project', () => {
  const out = execFileSync(process.execPath, [path.resolve(__dirname, '../tools/lean-install-test.mjs')], { encoding: 'utf8', timeout: 300_000 });
  console.log(out.trim());
  expect(out).toContain('lean install test passed');
}, 300_000);
