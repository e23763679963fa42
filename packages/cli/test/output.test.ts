import { execFileSync, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import * as C from '@sdxs/core';
import { EXIT, exitCodeFor } from '../src/cli-error.js';
import { writeFileAtomic } from '../src/output.js';
import { tempDir } from './helpers.js';

describe('writeFileAtomic (generate and eval outputs)', () => {
  test('a full disk is an OutputError that says the disk is full, exits 1 (not 3), and leaves no temporary file', async () => {
    const dir = await tempDir('sdxs-cli-output-');
    const mnt = path.join(dir, 'full');
    await fs.mkdir(mnt);
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=8k', 'tmpfs', mnt]).status !== 0) return console.warn('skipped: cannot mount a small tmpfs (needs root)');
    try {
      const e = await writeFileAtomic(path.join(mnt, 'sdxs.png'), new Uint8Array(100_000)).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(C.OutputError);
      expect((e as Error).message).toMatch(/sdxs\.png: cannot write: the disk is full \(no space left on the device\) \(ENOSPC\)/);
      expect(exitCodeFor(e)).toBe(EXIT.runtime);
      expect(await fs.readdir(mnt)).toEqual([]);
    } finally {
      execFileSync('umount', [mnt]);
    }
  });

  test('a path through a file is an OutputError naming the problem, exit 1', async () => {
    const dir = await tempDir('sdxs-cli-output-');
    await fs.writeFile(path.join(dir, 'a-file'), 'x');
    const e = await writeFileAtomic(path.join(dir, 'a-file', 'out.png'), new Uint8Array(10)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(C.OutputError);
    expect((e as Error).message).toMatch(/a part of the path (is a file, not a folder \(ENOTDIR\)|exists and is not a folder \(EEXIST\))/);
    expect(exitCodeFor(e)).toBe(EXIT.runtime);
  });
});
