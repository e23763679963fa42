import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import * as C from '@sdxs/core';
import { TrainLogger } from '../src/logger.js';

const rec = (step: number): string => JSON.stringify({ step, loss: 1 / step, lr: 1e-4, gradNorm: 1, samplesPerSec: 1, stepsPerSec: 1, stepMs: 1, rssMiB: 1, tensorMiB: 1, time: 't' });

describe('TrainLogger resume', () => {
  test('a torn last line in log.jsonl (a run killed mid-write) is dropped and the file repaired', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sdxs-log-'));
    writeFileSync(path.join(dir, 'log.jsonl'), `${rec(1)}\n${rec(2)}\n${rec(3).slice(0, 25)}`);
    const log = new TrainLogger(dir, 10, 2);
    expect(readFileSync(log.jsonl, 'utf8')).toBe(`${rec(1)}\n${rec(2)}\n`);
  });

  test('a damaged line elsewhere is an InputError naming the line, not a raw SyntaxError', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sdxs-log-'));
    writeFileSync(path.join(dir, 'log.jsonl'), `${rec(1)}\n{oops\n${rec(3)}\n`);
    expect(() => new TrainLogger(dir, 10, 3)).toThrow(C.InputError);
    expect(() => new TrainLogger(dir, 10, 3)).toThrow(/log\.jsonl:2/);
  });
});
