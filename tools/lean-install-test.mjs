#!/usr/bin/env node
// `@sdxs/vae` alone, as a user who only upscales installs it: packs core and vae, installs the two tarballs
// into an empty project, and checks that no backend package came with them (core's backends are optional
// peers), that the pure-JS `cpu` backend upscales, that `auto` takes a backend once its package is
// installed (tfjs-wasm), and that a browser project type-checks against both without @types/node.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const vaeDir = path.join(process.env.SDXS_FIXTURES ?? path.resolve(root, '../shared/fixtures'), 'diffusers/vae-tiny');
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
const fail = (msg) => {
  throw new Error(`lean install: ${msg}`);
};

/** Bytes under a folder (files only, symlinks not followed). */
function du(dir) {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) n += du(p);
    else if (e.isFile()) n += statSync(p).size;
  }
  return n;
}

const work = mkdtempSync(path.join(tmpdir(), 'sdxs-lean-'));
const packs = path.join(work, 'packs');
mkdirSync(packs);
for (const name of ['core', 'vae']) {
  const dir = path.join(root, 'packages', name);
  if (!existsSync(path.join(dir, 'dist'))) fail(`packages/${name} has no dist/: build first (npm run build)`);
  run('npm', ['pack', '--silent', '--pack-destination', packs], dir);
}
const app = path.join(work, 'app');
mkdirSync(app);
writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'upscale-only', private: true, type: 'module' }));
const tarballs = readdirSync(packs).map((f) => path.join(packs, f));
run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', ...tarballs], app);

const nm = path.join(app, 'node_modules');
const backendPackages = ['webgpu', '@tensorflow', 'onnxruntime-node', 'onnxruntime-web', 'onnxruntime-common'].filter((p) => existsSync(path.join(nm, p)));
if (backendPackages.length) fail(`@sdxs/vae pulled in backend packages: ${backendPackages.join(', ')}`);
const mb = du(nm) / 2 ** 20;

// the cpu backend upscales; auto with no backend package installed takes it
writeFileSync(
  path.join(app, 'upscale.mjs'),
  `import * as C from '@sdxs/core';
import { AsymmetricAutoencoderKL, upscale } from '@sdxs/vae';
const b = await C.setBackend('auto');
const vae = await AsymmetricAutoencoderKL.fromPretrained(${JSON.stringify(vaeDir)});
const out = await upscale(vae, { width: 8, height: 8, channels: 3, data: new Float32Array(8 * 8 * 3).fill(0.5) });
console.log(JSON.stringify({ backend: b.name, size: [out.width, out.height] }));
`,
);
const first = JSON.parse(run(process.execPath, ['upscale.mjs'], app));
if (first.backend !== 'cpu' || first.size.join('x') !== '16x16') fail(`cpu upscale: ${JSON.stringify(first)}`);

// a browser project: DOM types, no @types/node, full checking of the packages' declarations
writeFileSync(path.join(app, 'page.ts'), `import * as C from '@sdxs/core';\nimport { AsymmetricAutoencoderKL, upscale } from '@sdxs/vae';\nexport const use = async (): Promise<string> => { await C.setBackend('auto'); void AsymmetricAutoencoderKL; void upscale; return C.getBackend(); };\n`);
writeFileSync(
  path.join(app, 'tsconfig.json'),
  JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'ESNext', moduleResolution: 'Bundler', lib: ['ES2022', 'DOM'], types: [], strict: true, skipLibCheck: false, noEmit: true }, files: ['page.ts'] }),
);
if (existsSync(path.join(nm, '@types/node'))) fail('@types/node came with the packages; the type check would not show anything');
try {
  run(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', app], app);
} catch (e) {
  fail(`a browser project does not type-check against @sdxs/core + @sdxs/vae without @types/node:\n${e.stdout ?? e.message}`);
}

// a backend package installed next to them is what auto takes
const tfjs = ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-wasm'].map((p) => `${p}@${JSON.parse(readFileSync(path.join(root, 'node_modules', p, 'package.json'), 'utf8')).version}`);
run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', ...tfjs], app);
const second = JSON.parse(run(process.execPath, ['upscale.mjs'], app));
if (second.backend !== 'tfjs-wasm') fail(`with tfjs-backend-wasm installed auto took ${second.backend}`);
console.log(`lean install test passed: @sdxs/core + @sdxs/vae alone ${mb.toFixed(1)} MiB of node_modules, no backend package; auto: cpu, then ${second.backend} once installed; a DOM project type-checks without @types/node`);
if (!process.env.SDXS_KEEP_LEAN) rmSync(work, { recursive: true, force: true });
