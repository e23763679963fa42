import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, test } from 'vitest';

const root = path.resolve(__dirname, '../../..');

describe('auto backend in a fresh process', () => {
  test('choosing a backend prints nothing: no Dawn/Vulkan warnings, no XDG_RUNTIME_DIR, no tfjs stack traces', () => {
    const script = "const C = await import('@sdxs/core'); const b = await C.setBackend('auto'); process.stdout.write(b.name);";
    const env = { ...process.env };
    delete env.XDG_RUNTIME_DIR;
    const r = spawnSync(process.execPath, ['--conditions=sdxs-source', '--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, env, encoding: 'utf8', timeout: 240_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).not.toBe('');
    expect(r.stderr).toBe('');
  }, 250_000);
});
