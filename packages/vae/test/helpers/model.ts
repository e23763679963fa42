import * as C from '@sdxs/core';
import { parseBackendSpec, testBackendNames } from '@sdxs/core/testing';
import { AsymmetricAutoencoderKL } from '../../src/index.js';
import { vaeTinyDir } from './fixtures.js';

let cached: AsymmetricAutoencoderKL | undefined;

/**
 * The backend for the functional (non-parity) tests: the first of SDXS_TEST_BACKENDS when that is set (the
 * common test mechanism), else tfjs-wasm when it starts (much faster than the reference cpu backend), else cpu.
 */
export async function fastBackend(): Promise<string> {
  const listed = process.env.SDXS_TEST_BACKENDS?.trim() ? testBackendNames()[0] : undefined;
  const spec = parseBackendSpec(listed ?? ((await C.isBackendAvailable('tfjs-wasm')) ? 'tfjs-wasm' : 'cpu'));
  await C.setBackend(spec.name, { compute: spec.compute });
  return spec.name;
}

/** The vae-tiny fixture model (loaded once per test file) on the fast backend. */
export async function tinyVae(): Promise<AsymmetricAutoencoderKL> {
  await fastBackend();
  cached ??= await AsymmetricAutoencoderKL.fromPretrained(vaeTinyDir);
  return cached;
}
