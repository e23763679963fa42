import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { saveSafetensors } from '../src/io/safetensors-write.js';
import { isProcessAlive, removeStaleTempFiles } from '../src/io/stale-temp.js';

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

describe('stale temporary files', () => {
  it('temp files of killed runs are removed on the next run; live writers and other files are kept', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sdxs-stale-'));
    const dead = deadPid();
    expect(isProcessAlive(dead)).toBe(false);
    const names = {
      deadSafetensors: `m.safetensors.tmp-${dead}-abc`,
      deadPartial: `.out.partial-${dead}-0f0f.png`,
      deadJson: `part-00001.json.tmp-${dead}`,
      live: `m.safetensors.tmp-${process.pid}-xyz`,
      user: 'notes.tmp-old.txt',
      plain: 'model.safetensors',
    };
    for (const n of Object.values(names)) writeFileSync(path.join(dir, n), 'x');
    await saveSafetensors(path.join(dir, 'new.safetensors'), { a: { dtype: 'F32', shape: [1], data: new Float32Array([1]) } });
    expect(readdirSync(dir).sort()).toEqual([names.live, names.plain, 'new.safetensors', names.user].sort());
    expect(await removeStaleTempFiles(path.join(dir, 'missing'))).toEqual([]);
  });
});
