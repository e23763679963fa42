/** The qwen35 fixture cases: model folder, reference tensors (io.safetensors) and case.json tolerances. */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as C from '@sdxs/core';
import { fixturesDir, skipUnless } from '@sdxs/core/testing';

export const QWEN_FIXTURES = path.join(fixturesDir(), 'qwen');
export const MODEL_CASES = ['qwen35-tiny-tied', 'qwen35-small-untied'] as const;
export const TOKENIZER_DIR = path.join(QWEN_FIXTURES, 'tokenizer-qwen3');

export interface CaseCheck {
  name: string;
  atol: number;
  rtol: number;
}
export interface CaseJson {
  checks: CaseCheck[];
}

export const caseDir = (name: string): string => path.join(QWEN_FIXTURES, name);
export const haveCase = (name: string): boolean => existsSync(path.join(caseDir(name), 'io.safetensors'));

/** Whether to skip a suite of a fixture case that is not here (a failing test under CI, which has the fixtures). */
export const skipWithoutCase = (name: string): boolean =>
  skipUnless(haveCase(name), `qwen fixture case '${name}': no ${path.join(caseDir(name), 'io.safetensors')} (set SDXS_FIXTURES)`, { ciRequired: true });

/** Whether to skip a suite that needs a fixture case and the Qwen3 fixture tokenizer. */
export const skipWithoutCaseAndTokenizer = (name: string): boolean =>
  skipWithoutCase(name) ||
  skipUnless(existsSync(path.join(TOKENIZER_DIR, 'tokenizer.json')), `the Qwen3 fixture tokenizer: no ${path.join(TOKENIZER_DIR, 'tokenizer.json')} (set SDXS_FIXTURES)`, { ciRequired: true });

export function readCase(name: string): CaseJson {
  return JSON.parse(readFileSync(path.join(caseDir(name), 'case.json'), 'utf8')) as CaseJson;
}

export function tolerance(c: CaseJson, check: string): { atol: number; rtol: number } {
  const found = c.checks.find((x) => x.name === check);
  if (!found) throw new Error(`case.json has no check '${check}'`);
  return { atol: found.atol, rtol: found.rtol };
}

/** Host copies of every reference tensor (float32 or int ids as numbers). */
export interface Reference {
  floats: Map<string, { data: Float32Array; shape: number[] }>;
  ints: Map<string, { data: number[]; shape: number[] }>;
}

export async function readReference(name: string): Promise<Reference> {
  const file = await C.loadSafetensors(path.join(caseDir(name), 'io.safetensors'));
  const floats: Reference['floats'] = new Map();
  const ints: Reference['ints'] = new Map();
  try {
    for (const key of file.names()) {
      const info = file.info(key);
      const raw = await file.readTyped(key);
      if (info.dtype === 'F32') floats.set(key, { data: Float32Array.from(raw as Float32Array), shape: [...info.shape] });
      else ints.set(key, { data: Array.from(raw as ArrayLike<number | bigint>, (v) => Number(v)), shape: [...info.shape] });
    }
  } finally {
    await file.close();
  }
  return { floats, ints };
}

/** Rows of an int reference tensor [B, S]. */
export function rows(ref: Reference, key: string): number[][] {
  const t = ref.ints.get(key);
  if (!t) throw new Error(`reference has no ${key}`);
  const [b, s] = t.shape as [number, number];
  return Array.from({ length: b }, (_, i) => t.data.slice(i * s, (i + 1) * s));
}

export function floats(ref: Reference, key: string): Float32Array {
  const t = ref.floats.get(key);
  if (!t) throw new Error(`reference has no ${key}`);
  return t.data;
}

/** Per backend/case/check max abs errors, printed at the end of a suite for the report. */
export const errorLog: string[] = [];
