#!/usr/bin/env node
// The packages as a Deno user gets them: `npm:` specifiers resolved by Deno itself (its own cache, no
// node_modules, no package.json), outside this repository. The built packages are packed and served by a
// small local registry for the @sdxs scope (an .npmrc line points Deno at it); everything else comes from the
// npm registry. Then, in Deno: a script importing npm:@sdxs/core and npm:@sdxs/vae decodes the vae-tiny
// fixture on cpu and ort-cpu, and `deno run -A npm:@sdxs/cli` makes the tiny model, generates and upscales on
// cpu and ort-cpu; every image must be pixel-identical to the same command under Node.
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixtures = process.env.SDXS_FIXTURES ?? path.resolve(root, '../shared/fixtures');
const deno = path.join(root, 'node_modules/.bin/deno');
const ORT = 'npm:onnxruntime-node@1.30.0';
if (!existsSync(deno)) throw new Error(`${deno} is missing: npm ci installs Deno (the 'deno' devDependency)`);

const work = mkdtempSync(path.join(tmpdir(), 'sdxs-deno-'));
const packs = path.join(work, 'packs');
mkdirSync(packs);
for (const dir of readdirSync(path.join(root, 'packages'))) {
  const pkgDir = path.join(root, 'packages', dir);
  const pkg = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
  if (pkg.private) continue;
  if (!existsSync(path.join(pkgDir, 'dist'))) throw new Error(`${pkg.name} has no dist/: build first (npm run build)`);
  execFileSync('npm', ['pack', '--silent', '--pack-destination', packs], { cwd: pkgDir, stdio: ['ignore', 'ignore', 'inherit'] });
}

/** name -> { manifest, tarball bytes, file } for every packed tarball */
const served = new Map();
for (const file of readdirSync(packs)) {
  const bytes = readFileSync(path.join(packs, file));
  const manifest = JSON.parse(execFileSync('tar', ['-xOzf', path.join(packs, file), 'package/package.json'], { encoding: 'utf8' }));
  served.set(manifest.name, { manifest, bytes, file });
}

// A registry of the packed @sdxs packages: GET /<name> gives the packument, GET /-/<file> the tarball.
const registry = createServer((req, res) => {
  const url = decodeURIComponent(req.url ?? '/');
  const base = `http://127.0.0.1:${registry.address().port}`;
  const tarball = [...served.values()].find((p) => url === `/-/${p.file}`);
  if (tarball) return void res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(tarball.bytes);
  const p = served.get(url.slice(1));
  if (!p) return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
  const dist = {
    tarball: `${base}/-/${p.file}`,
    shasum: createHash('sha1').update(p.bytes).digest('hex'),
    integrity: `sha512-${createHash('sha512').update(p.bytes).digest('base64')}`,
  };
  const v = p.manifest.version;
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ name: p.manifest.name, 'dist-tags': { latest: v }, versions: { [v]: { ...p.manifest, dist } } }));
});
await new Promise((r) => registry.listen(0, '127.0.0.1', r));
const port = registry.address().port;

// Deno's npm cache: kept between runs for the npm registry's packages; the local registry's entries (a folder
// named after its port) go, so a rebuilt package of the same version is fetched again.
const denoDir = process.env.DENO_DIR ?? path.join(root, 'node_modules/.cache/sdxs-deno');
const dropLocal = () => {
  const npm = path.join(denoDir, 'npm');
  if (existsSync(npm)) for (const d of readdirSync(npm)) if (/^(\d+|127\.0\.0\.1.*|localhost.*)$/.test(d)) rmSync(path.join(npm, d), { recursive: true, force: true });
};
dropLocal();

const app = path.join(work, 'app');
mkdirSync(app);
writeFileSync(path.join(app, '.npmrc'), `@sdxs:registry=http://127.0.0.1:${port}/\n`);
writeFileSync(path.join(app, 'deno.json'), '{}\n');
const env = { ...process.env, DENO_DIR: denoDir, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' };
// asynchronous: the registry answers from this process while Deno runs
const run = (cmd, args) =>
  new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd: app, env, encoding: 'utf8', maxBuffer: 64 << 20 }, (e, stdout, stderr) => {
      if (e) reject(new Error(`${path.basename(cmd)} ${args.join(' ')} failed:\n${stderr}${stdout}`));
      else resolve(stdout);
    });
  });
const denoRun = (args) => run(deno, ['run', '-A', ...args]);
const cliDeno = (backend, args) => denoRun([...(backend === 'ort-cpu' ? ['--preload', ORT] : []), 'npm:@sdxs/cli', ...args]);
const cliNode = (args) => run(process.execPath, [path.join(root, 'packages/cli/bin/sdxs.js'), ...args]);

/** Raw RGBA pixels of an image, read with sharp from the repo (Node). */
const sharp = (await import('sharp')).default;
const pixels = async (file) => {
  const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  return { data, size: `${info.width}x${info.height}x${info.channels}` };
};
let passed = 0;
let failed = 0;
const results = [];
async function same(label, a, b) {
  const [pa, pb] = [await pixels(a), await pixels(b)];
  let diff = 0;
  for (let i = 0; i < pa.data.length; i++) diff = Math.max(diff, Math.abs(pa.data[i] - pb.data[i]));
  const ok = pa.size === pb.size && diff === 0;
  ok ? passed++ : failed++;
  results.push(`${ok ? 'ok  ' : 'FAIL'} ${label}: Deno ${pa.size} vs Node ${pb.size}, max pixel difference ${diff}`);
}

try {
  console.log(`deno ${(await run(deno, ['--version'])).split('\n')[0]}; @sdxs packages from a local registry on port ${port}; app in ${app}`);

  // 1. A script importing the packages by npm: specifier (and onnxruntime-node for ort-cpu: Deno resolves an
  //    optional peer only when the program imports it).
  const vaeDir = path.join(fixtures, 'diffusers/vae-tiny');
  writeFileSync(
    path.join(app, 'decode.ts'),
    `import '${ORT}';
import * as C from 'npm:@sdxs/core';
import { AsymmetricAutoencoderKL } from 'npm:@sdxs/vae';
import { upscaleImageFile } from 'npm:@sdxs/vae/node';
await C.setBackend(Deno.args[0]!);
if (Deno.args[1]) {
  // upscale an image file with the tiny model's VAE: args backend, input, output
  const tiny = await AsymmetricAutoencoderKL.fromPretrained('tiny', { subfolder: 'vae' });
  console.log(JSON.stringify(await upscaleImageFile(tiny, Deno.args[1], Deno.args[2]!)));
  Deno.exit(0);
}
const vae = await AsymmetricAutoencoderKL.fromPretrained(${JSON.stringify(vaeDir)});
const f = await C.loadSafetensors(${JSON.stringify(path.join(vaeDir, 'io.safetensors'))});
const latent = await C.readTensor(f, 'latent');
const expected = (await (await C.readTensor(f, 'decoded')).data()) as Float32Array;
const out = (await vae.decode(latent).data()) as Float32Array;
let err = 0;
for (let i = 0; i < expected.length; i++) err = Math.max(err, Math.abs(out[i]! - expected[i]!));
console.log(JSON.stringify({ backend: C.currentBackend().name, err }));
`,
  );
  await run(deno, ['check', 'decode.ts']); // the published type declarations, as Deno reads them
  passed++;
  results.push('ok   deno check of a script importing npm:@sdxs/core, npm:@sdxs/vae and npm:@sdxs/vae/node');
  for (const backend of ['cpu', 'ort-cpu']) {
    const r = JSON.parse((await denoRun(['decode.ts', backend])).trim().split('\n').pop());
    const ok = r.backend === backend && r.err <= 2e-4;
    ok ? passed++ : failed++;
    results.push(`${ok ? 'ok  ' : 'FAIL'} npm:@sdxs/vae decodes vae-tiny on ${r.backend}: max|err| ${r.err.toExponential(2)} (atol 2e-4)`);
  }

  // 2. The CLI from its npm specifier, against the same commands under Node.
  const version = (await cliDeno('cpu', ['--version'])).trim();
  const ok = /^\d+\.\d+\.\d+$/.test(version);
  ok ? passed++ : failed++;
  results.push(`${ok ? 'ok  ' : 'FAIL'} deno run -A npm:@sdxs/cli --version: ${version}`);
  await cliDeno('cpu', ['make-tiny-model', 'tiny']);
  for (const backend of ['cpu', 'ort-cpu']) {
    const gen = ['generate', 'a red fox', '--model', 'tiny', '-W', '64', '-H', '64', '--steps', '2', '--seed', '7', '--backend', backend, '-q'];
    await cliDeno(backend, [...gen, '-o', `fox-${backend}-deno.png`]);
    await cliNode([...gen, '-o', path.join(app, `fox-${backend}-node.png`)]);
    await same(`sdxs generate --model tiny --backend ${backend}`, path.join(app, `fox-${backend}-deno.png`), path.join(app, `fox-${backend}-node.png`));
    const up = ['upscale', path.join(app, 'fox-cpu-node.png'), '--model', 'tiny', '--backend', backend, '-q'];
    await cliDeno(backend, [...up, '-o', `up-${backend}-deno.png`]);
    await cliNode([...up, '-o', path.join(app, `up-${backend}-node.png`)]);
    await same(`sdxs upscale --model tiny --backend ${backend}`, path.join(app, `up-${backend}-deno.png`), path.join(app, `up-${backend}-node.png`));
    await denoRun(['decode.ts', backend, path.join(app, 'fox-cpu-node.png'), `lib-up-${backend}.png`]);
    await same(`upscaleImageFile from npm:@sdxs/vae/node on ${backend}`, path.join(app, `lib-up-${backend}.png`), path.join(app, `up-${backend}-node.png`));
  }
  // ONNX export from Deno (the files are checked against the fixtures by the vitest round trip)
  await cliDeno('cpu', ['export', 'onnx', 'tiny', '-o', 'tiny-onnx', '--component', 'vae-decoder', '-W', '64', '-H', '64']);
  const index = JSON.parse(readFileSync(path.join(app, 'tiny-onnx/model_index.json'), 'utf8'));
  const shape = JSON.stringify(index.components['vae-decoder']?.outputs[0]?.shape);
  const exported = shape === '[1,3,64,64]' && existsSync(path.join(app, 'tiny-onnx/vae_decoder/model.onnx.data'));
  exported ? passed++ : failed++;
  results.push(`${exported ? 'ok  ' : 'FAIL'} deno run -A npm:@sdxs/cli export onnx: vae_decoder output ${shape}`);
} finally {
  registry.close();
  dropLocal();
  console.log(results.join('\n'));
  if (!process.env.SDXS_KEEP_DENO_APP) rmSync(work, { recursive: true, force: true });
}
console.log(`deno packed: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
