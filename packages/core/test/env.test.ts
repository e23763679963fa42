// The one env module: each variable's reader (unset, valid, invalid), README's table against ENV_VARIABLES,
// and no runtime package reading an SDXS_ variable anywhere else.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import * as C from '@sdxs/core';
import { repoRoot } from '@sdxs/core/testing';
import { envOrtDeviceOutputs, envOrtKeepHalf, vulkanIsSoftware } from '../src/env.js';

const root = repoRoot();
const readme = readFileSync(path.join(root, 'README.md'), 'utf8');

function expectError(f: () => unknown, type: new (...a: never[]) => Error, ...parts: string[]): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(type);
  for (const p of parts) expect((err as Error).message).toContain(p);
}

describe('readers', () => {
  test('unset and empty are absent', () => {
    for (const env of [{}, { SDXS_BACKEND: '', SDXS_COMPUTE: ' ', SDXS_ORT_THREADS: '', SDXS_HUB_TIMEOUT: '', SDXS_MAX_IMAGE_PIXELS: '' }]) {
      expect(C.envBackend(env)).toBeUndefined();
      expect(C.envCompute(env)).toBeUndefined();
      expect(C.envOrtThreads(env)).toBeUndefined();
      expect(C.envOrtCacheBytes(env)).toBeUndefined();
      expect(C.envHubTotalTimeoutMs(env)).toBeUndefined();
      expect(C.envHubIdleTimeoutMs(env)).toBeUndefined();
      expect(C.envHubMaxBytes(env)).toBeUndefined();
      expect(C.envMaxImagePixels(env)).toBeUndefined();
      expect(C.envMaxImageBytes(env)).toBeUndefined();
      expect(envOrtDeviceOutputs(env)).toBeUndefined();
      expect(envOrtKeepHalf(env)).toBeUndefined();
    }
  });

  test('valid values are read', () => {
    expect(C.envBackend({ SDXS_BACKEND: 'auto' })).toBe('auto');
    expect(C.envBackend({ SDXS_BACKEND: 'ort-cpu' })).toBe('ort-cpu');
    expect(C.envCompute({ SDXS_COMPUTE: 'f16' })).toBe('float16');
    expect(C.envCompute({ SDXS_COMPUTE: 'float32' })).toBe('float32');
    expect(C.envCompute({ SDXS_COMPUTE: 'auto' })).toBe('auto');
    expect(C.envCompute({ SDXS_COMPUTE: 'int8' })).toBe('int8');
    expect(C.envOrtThreads({ SDXS_ORT_THREADS: '3' })).toBe(3);
    expect(C.envOrtCacheBytes({ SDXS_ORT_CACHE_BYTES: '1048576' })).toBe(1048576);
    expect(C.envHubTotalTimeoutMs({ SDXS_HUB_TIMEOUT: '1.5' })).toBe(1500);
    expect(C.envHubIdleTimeoutMs({ SDXS_HUB_IDLE_TIMEOUT: '30' })).toBe(30_000);
    expect(C.envHubMaxBytes({ SDXS_HUB_MAX_BYTES: '1000' })).toBe(1000);
    expect(C.envMaxImagePixels({ SDXS_MAX_IMAGE_PIXELS: '4096' })).toBe(4096);
    expect(C.envMaxImageBytes({ SDXS_MAX_IMAGE_BYTES: '99' })).toBe(99);
    expect(envOrtDeviceOutputs({ SDXS_ORT_DEVICE_OUTPUTS: '0' })).toBe(false);
    expect(envOrtKeepHalf({ SDXS_ORT_KEEP_HALF: '1' })).toBe(true);
    expect(vulkanIsSoftware({ VK_ICD_FILENAMES: '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json' })).toBe(true);
    expect(vulkanIsSoftware({ VK_ICD_FILENAMES: '/usr/share/vulkan/icd.d/nvidia_icd.json' })).toBe(false);
  });

  test('a bad value is a typed error naming the variable and the value', () => {
    expectError(() => C.envBackend({ SDXS_BACKEND: 'quantum' }), C.ArgumentError, 'SDXS_BACKEND', "'quantum'", 'ort-cpu');
    expectError(() => C.envCompute({ SDXS_COMPUTE: 'bf16' }), C.ArgumentError, 'SDXS_COMPUTE', "'bf16'");
    expectError(() => C.envCompute({ SDXS_COMPUTE: 'toString' }), C.ArgumentError, 'SDXS_COMPUTE');
    expectError(() => C.envOrtThreads({ SDXS_ORT_THREADS: '2.5' }), C.ArgumentError, 'SDXS_ORT_THREADS', "'2.5'");
    expectError(() => C.envOrtCacheBytes({ SDXS_ORT_CACHE_BYTES: '-1' }), C.ArgumentError, 'SDXS_ORT_CACHE_BYTES', "'-1'");
    expectError(() => envOrtDeviceOutputs({ SDXS_ORT_DEVICE_OUTPUTS: 'no' }), C.ArgumentError, 'SDXS_ORT_DEVICE_OUTPUTS', "'no'");
    expectError(() => envOrtKeepHalf({ SDXS_ORT_KEEP_HALF: 'yes' }), C.ArgumentError, 'SDXS_ORT_KEEP_HALF', "'yes'");
    expectError(() => C.envHubTotalTimeoutMs({ SDXS_HUB_TIMEOUT: 'soon' }), C.HubError, 'SDXS_HUB_TIMEOUT', "'soon'");
    expectError(() => C.envHubIdleTimeoutMs({ SDXS_HUB_IDLE_TIMEOUT: '0' }), C.HubError, 'SDXS_HUB_IDLE_TIMEOUT', "'0'");
    expectError(() => C.envHubMaxBytes({ SDXS_HUB_MAX_BYTES: 'lots' }), C.HubError, 'SDXS_HUB_MAX_BYTES', "'lots'");
    expectError(() => C.envMaxImagePixels({ SDXS_MAX_IMAGE_PIXELS: '1e400' }), C.InputError, 'SDXS_MAX_IMAGE_PIXELS', "'1e400'");
    expectError(() => C.envMaxImageBytes({ SDXS_MAX_IMAGE_BYTES: 'x' }), C.InputError, 'SDXS_MAX_IMAGE_BYTES', "'x'");
  });

  test('the hub settings read the environment given', async () => {
    expect(C.hubEndpoint({ HF_ENDPOINT: 'http://h/' })).toBe('http://h');
    expect(C.hubEndpoint({})).toBe('https://huggingface.co');
    expect(C.hubToken({ HUGGING_FACE_HUB_TOKEN: 'old' })).toBe('old');
    expect(C.hubToken({ HF_TOKEN: 'new', HUGGING_FACE_HUB_TOKEN: 'old' })).toBe('new');
    expect(C.hubOffline({ HF_HUB_OFFLINE: 'yes' })).toBe(true);
    expect(C.hubOffline({ HF_HUB_OFFLINE: '0' })).toBe(false);
    expect(await C.defaultHubCacheDir({ HF_HUB_CACHE: '/c', HF_HOME: '/h' })).toBe('/c');
    expect(await C.defaultHubCacheDir({ HF_HOME: '/h' })).toBe(path.join('/h', 'hub'));
    expect(await C.defaultHubCacheDir({ XDG_CACHE_HOME: '/x' })).toBe(path.join('/x', 'huggingface', 'hub'));
  });
});

/** The rows of the markdown table that follows `heading`'s line. */
function tableAfter(text: string, marker: string): string[][] {
  const lines = text.slice(text.indexOf(marker)).split('\n');
  const start = lines.findIndex((l) => l.startsWith('| variable |'));
  const rows: string[][] = [];
  for (const l of lines.slice(start + 2)) {
    if (!l.startsWith('|')) break;
    rows.push(l.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim()));
  }
  return rows;
}

/** Variable names of a table's first column (`A`, `B` in one cell names two). */
const namesOf = (rows: string[][]): string[] => rows.flatMap((r) => [...r[0]!.matchAll(/`([A-Z0-9_]+)`/g)].map((m) => m[1]!));

describe("README's environment table", () => {
  const runtime = tableAfter(readme, '## Environment');
  const tooling = tableAfter(readme, 'Tests, benchmarks and tools only');

  test('its first part is ENV_VARIABLES, row for row', () => {
    expect(runtime.length).toBe(C.ENV_VARIABLES.length);
    C.ENV_VARIABLES.forEach((v, i) => {
      const unescape = (s: string): string => s.replace(/\\\|/g, '|');
      expect(runtime[i]!.map(unescape)).toEqual([`\`${v.name}\``, v.description, v.default, v.values]);
    });
  });

  /** Every file of the repository that may read a variable. */
  function sources(dir: string, out: string[] = []): string[] {
    for (const name of readdirSync(dir)) {
      if (name === 'node_modules' || name === 'dist' || name === '.git' || name === 'results' || name === 'bench-results') continue;
      const p = path.join(dir, name);
      if (statSync(p).isDirectory()) sources(p, out);
      else if (/\.(ts|mts|mjs|js|sh|py)$/.test(name) || name === 'run') out.push(p);
    }
    return out;
  }
  const files = ['packages', 'tools', 'benchmarks', 'test', '.ci'].flatMap((d) => sources(path.join(root, d)));

  test('it lists every SDXS_ variable read anywhere in the repository', () => {
    const read = new Set<string>();
    const code = [/env(?:\?\.|\.|\[['"`])(SDXS_[A-Z0-9_]+)/g, /env\.get\(['"](SDXS_[A-Z0-9_]+)/g, /read\('(SDXS_[A-Z0-9_]+)'/g, /\('(SDXS_[A-Z0-9_]+)', env/g];
    const shell = [/\$\{?(SDXS_[A-Z0-9_]+)/g, /^\s*(?:export\s+)?(SDXS_[A-Z0-9_]+)=/gm];
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      for (const re of /\.(sh|py)$|run$/.test(f) ? shell : code) for (const m of text.matchAll(re)) read.add(m[1]!);
    }
    // the patterns do find reads (this file's own list is not empty, and finds the hub's and the tests' ones)
    for (const known of ['SDXS_BACKEND', 'SDXS_HUB_MAX_BYTES', 'SDXS_FIXTURES', 'SDXS_TEST_BACKENDS', 'SDXS_PYTHON']) expect(read).toContain(known);
    const listed = new Set([...namesOf(runtime), ...namesOf(tooling)]);
    expect([...read].filter((v) => !listed.has(v)).sort()).toEqual([]);
  });

  test('no runtime package reads an SDXS_ variable outside core/src/env.ts', () => {
    const outside = files
      .filter((f) => /packages\/[^/]+\/src\//.test(f.split(path.sep).join('/')) && !f.endsWith(path.join('core', 'src', 'env.ts')))
      .filter((f) => /(?:process\.env|Deno\.env|\benv)(?:\?\.|\.|\[['"`]|\.get\(['"])SDXS_/.test(readFileSync(f, 'utf8')));
    expect(outside.map((f) => path.relative(root, f))).toEqual([]);
  });

  test("the package table names every registered backend", () => {
    const row = readme.split('\n').find((l) => l.startsWith('| `@sdxs/core` |'))!;
    for (const b of C.listBackends()) expect(row).toContain(`\`${b}\``);
  });
});
