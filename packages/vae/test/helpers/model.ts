import * as C from '@sdxs/core';
import { AsymmetricAutoencoderKL } from '../../src/index.js';
import { vaeTinyDir } from './fixtures.js';

let cached: AsymmetricAutoencoderKL | undefined;

/**
 * The backend for the functional (non-parity) tests: tfjs-wasm when it starts (much faster than the
 * reference cpu backend), else cpu. SDXS_VAE_TEST_BACKEND overrides.
 */
export async function fastBackend(): Promise<string> {
  const want = process.env.SDXS_VAE_TEST_BACKEND ?? ((await C.isBackendAvailable('tfjs-wasm')) ? 'tfjs-wasm' : 'cpu');
  await C.setBackend(want);
  return want;
}

/** The vae-tiny fixture model (loaded once per test file) on the fast backend. */
export async function tinyVae(): Promise<AsymmetricAutoencoderKL> {
  await fastBackend();
  cached ??= await AsymmetricAutoencoderKL.fromPretrained(vaeTinyDir);
  return cached;
}
