#!/usr/bin/env node
// Packs every built workspace package, installs the tarballs into an empty project outside the
// workspace and runs a small example there under Node (ESM and CJS) and under Bun. A missing `files`
// entry, a broken `exports` map or a workspace-only import fails here.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const fixtures = process.env.SDXS_FIXTURES ?? path.resolve(root, '../shared/fixtures');
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });

const work = mkdtempSync(path.join(tmpdir(), 'sdxs-consumer-'));
const packs = path.join(work, 'packs');
mkdirSync(packs);
const names = [];
for (const dir of readdirSync(path.join(root, 'packages'))) {
  const pkgDir = path.join(root, 'packages', dir);
  const pkg = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
  if (pkg.private) continue; // the browser page is not published
  if (!existsSync(path.join(pkgDir, 'dist'))) throw new Error(`${pkg.name} has no dist/: build first (npm run build)`);
  run('npm', ['pack', '--silent', '--pack-destination', packs], pkgDir);
  names.push(pkg.name);
}
const app = path.join(work, 'app');
mkdirSync(app);
writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
const tarballs = readdirSync(packs).map((f) => path.join(packs, f));
run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', ...tarballs], app);

const vaeDir = path.join(fixtures, 'diffusers/vae-tiny');
const weights = path.join(vaeDir, 'diffusion_pytorch_model.safetensors');
writeFileSync(
  path.join(app, 'example.mjs'),
  `import * as C from '@sdxs/core';
await C.setBackend('cpu');
const a = C.tensor([1, 2, 3, 4], [2, 2]);
const y = C.matmul(a, a);
const f = await C.loadSafetensors(${JSON.stringify(weights)});
const g = C.valueAndGrad(() => C.sum(C.square(a)), [a]);
const { AsymmetricAutoencoderKL } = await import('@sdxs/vae');
const vae = await AsymmetricAutoencoderKL.fromPretrained(${JSON.stringify(vaeDir)});
const img = vae.decode(C.randomNormal([1, vae.config.latentChannels, 2, 3], { seed: 0 }));
console.log(JSON.stringify({ y: Array.from(await y.data()), tensors: f.names().length, grad: Array.from(await g.grads[0].data()), decoded: img.shape }));
`,
);
writeFileSync(
  path.join(app, 'example.cjs'),
  `const C = require('@sdxs/core');
C.setBackend('cpu').then(async () => {
  const y = C.matmul(C.tensor([1, 2, 3, 4], [2, 2]), C.tensor([1, 0, 0, 1], [2, 2]));
  console.log(JSON.stringify({ y: Array.from(await y.data()) }));
});
`,
);
const expectEq = (got, want, what) => {
  if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
};
const esm = JSON.parse(run(process.execPath, ['example.mjs'], app));
expectEq(esm.y, [7, 10, 15, 22], 'node esm');
expectEq(esm.grad, [2, 4, 6, 8], 'node esm grad');
if (!(esm.tensors > 0)) throw new Error('node esm: safetensors had no tensors');
expectEq(esm.decoded, [1, 3, 32, 48], 'node esm: VAE decode from the packed @sdxs/vae');
expectEq(JSON.parse(run(process.execPath, ['example.cjs'], app)).y, [1, 2, 3, 4], 'node cjs');
const bun = path.join(root, 'node_modules/.bin/bun');
const viaBun = JSON.parse(run(bun, ['example.mjs'], app));
expectEq(viaBun.y, [7, 10, 15, 22], 'bun');
expectEq(viaBun.decoded, [1, 3, 32, 48], 'bun: VAE decode from the packed @sdxs/vae');

// Every package must at least import cleanly from its tarball under Node and Bun.
const imports = names.map((n) => `await import(${JSON.stringify(n)});`).join('\n');
writeFileSync(path.join(app, 'imports.mjs'), `${imports}\nconsole.log('ok');\n`);
expectEq(run(process.execPath, ['imports.mjs'], app).trim(), 'ok', 'node imports');
expectEq(run(bun, ['imports.mjs'], app).trim(), 'ok', 'bun imports');
// The CLI from its tarball, as a newcomer gets it (`npm i @sdxs/cli`, `npx @sdxs/cli ...`): the bin runs,
// and the README's offline line works (a tiny model, then generate from it).
const sdxs = path.join(app, 'node_modules/.bin/sdxs');
expectEq(/^\d+\.\d+\.\d+$/.test(run(sdxs, ['--version'], app).trim()), true, 'sdxs --version from the packed @sdxs/cli');
expectEq(/^\d+\.\d+\.\d+$/.test(run('npx', ['--no-install', '@sdxs/cli', '--version'], app).trim()), true, 'npx @sdxs/cli --version');
run(sdxs, ['make-tiny-model', 'tiny'], app);
const gen = JSON.parse(run(sdxs, ['generate', 'a red fox', '--model', 'tiny', '-W', '64', '-H', '64', '--steps', '2', '--backend', 'cpu', '-o', 'fox.png', '--json'], app));
expectEq(gen.width, 64, 'sdxs generate --model tiny from the packed CLI');
console.log(`consumer test passed: ${names.join(', ')} (node ${process.version}, bun; the sdxs bin)`);
if (!process.env.SDXS_KEEP_CONSUMER) rmSync(work, { recursive: true, force: true });
