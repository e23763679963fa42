/** packages/train/examples/tiny.json runs offline with the commands its own note gives (the train README's lines). */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, test } from 'vitest';
import { runCli, tempDir } from './helpers.js';

const example = path.resolve(__dirname, '../../train/examples/tiny.json');

/** The `npx sdxs ...` commands of the config's note, as argv arrays (quoted words kept whole). */
function noteCommands(note: string): string[][] {
  return [...note.matchAll(/npx sdxs ([^;]+?)(?:;|\. Paths|$)/g)].map((m) => [...m[1]!.matchAll(/"([^"]*)"|(\S+)/g)].map((w) => w[1] ?? w[2]!));
}

test('the tiny training example: make-tiny-model, generate, data convert and train run offline from the repository root in seconds', async () => {
  const root = await tempDir('sdxs-tiny-train-');
  await mkdir(path.join(root, 'packages/train/examples'), { recursive: true });
  await copyFile(example, path.join(root, 'packages/train/examples/tiny.json'));
  const config = JSON.parse(await readFile(example, 'utf8')) as { '//': string; steps: number; output: string };
  const commands = noteCommands(config['//']);
  expect(commands.map((c) => c[0])).toEqual(['make-tiny-model', 'generate', 'data', 'train']);
  // the README shows the same lines
  const readme = await readFile(path.resolve(__dirname, '../../train/README.md'), 'utf8');
  for (const c of commands) expect(readme).toContain(`npx sdxs ${c.map((w) => (w.includes(' ') ? `"${w}"` : w)).join(' ')}`);
  const env = { HF_HUB_OFFLINE: '1', HF_ENDPOINT: 'http://127.0.0.1:9', SDXS_BACKEND: 'cpu' };
  const t0 = performance.now();
  for (const argv of commands) {
    const r = await runCli(argv, env, new AbortController().signal, root);
    expect(r.code, `sdxs ${argv.join(' ')}\n${r.stderr}`).toBe(0);
  }
  const seconds = (performance.now() - t0) / 1000;
  console.log(`[tiny train example] four commands on cpu: ${seconds.toFixed(1)} s`);
  const log = (await readFile(path.join(root, 'runs/tiny/log.jsonl'), 'utf8')).trim().split('\n');
  expect(log).toHaveLength(config.steps);
  expect(existsSync(path.join(root, 'runs/tiny/final/unet/diffusion_pytorch_model.safetensors'))).toBe(true);
  expect(seconds).toBeLessThan(120);
}, 180_000);
