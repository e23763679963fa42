/** tools/publish-dry-run.sh (the release's dry run, run by .ci/run) passes on the repository and fails on a package that would publish wrongly. */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { skipUnless } from '@sdxs/core/testing';

const root = path.resolve(__dirname, '..');
const script = path.join(root, 'tools/publish-dry-run.sh');
// CI builds before it tests (npm test)
const notBuilt = skipUnless(existsSync(path.join(root, 'packages/sampler/dist/index.js')), 'publish dry-run test: packages/sampler has no dist/ (npm run build first)', { ciRequired: true });
const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

/** A repository root holding a copy of packages/sampler (built), changed by `edit`. */
async function copyWith(edit: (pkg: Record<string, unknown>, dir: string) => Promise<void> | void): Promise<string> {
  const r = await mkdtemp(path.join(tmpdir(), 'sdxs-publish-'));
  dirs.push(r);
  // the changesets config alone: the repository's pending changesets name packages this copy lacks
  await mkdir(path.join(r, '.changeset'));
  await cp(path.join(root, '.changeset/config.json'), path.join(r, '.changeset/config.json'));
  await writeFile(path.join(r, 'package.json'), await readFile(path.join(root, 'package.json')));
  const dir = path.join(r, 'packages/sampler');
  await mkdir(dir, { recursive: true });
  for (const f of ['package.json', 'README.md', 'dist']) await cp(path.join(root, 'packages/sampler', f), path.join(dir, f), { recursive: true });
  const pkg = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
  await edit(pkg, dir);
  await writeFile(path.join(dir, 'package.json'), JSON.stringify(pkg, null, 2));
  return r;
}

function dryRun(at?: string): { code: number; out: string } {
  try {
    return { code: 0, out: execFileSync('bash', [script, ...(at ? [at] : [])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 240_000 }) };
  } catch (e) {
    const x = e as { status: number; stdout: string; stderr: string };
    return { code: x.status, out: `${x.stdout}${x.stderr}` };
  }
}

test.skipIf(notBuilt)('every public package of the repository would publish', () => {
  const r = dryRun();
  expect(r.code, r.out).toBe(0);
  expect(r.out).toContain('publish dry run: every public package would publish');
  expect(r.out).toMatch(/@sdxs\/vae@\d+\.\d+\.\d+: \d+ files/);
}, 240_000);

test.skipIf(notBuilt)('a package without publishConfig.access public, with source maps, or missing an exported file fails the dry run', async () => {
  const bad = await copyWith(async (pkg, dir) => {
    delete pkg.publishConfig;
    pkg.files = ['dist', 'README.md'];
    await writeFile(path.join(dir, 'dist/index.js.map'), '{}');
    await rm(path.join(dir, 'dist/index.d.ts'));
  });
  const r = dryRun(bad);
  expect(r.code).toBe(1);
  expect(r.out).toContain('publishConfig.access is not "public"');
  expect(r.out).toContain('unwanted files: dist/index.js.map');
  expect(r.out).toContain('./dist/index.d.ts (named in package.json) is not in the tarball');
  const good = dryRun(await copyWith(() => undefined));
  expect(good.code, good.out).toBe(0);
}, 240_000);
