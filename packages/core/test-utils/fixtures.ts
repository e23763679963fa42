import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is packages/core/test-utils/fixtures.ts). */
export const repoRoot = (): string => path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Shared fixtures: $SDXS_FIXTURES, else <repo>/../shared/fixtures (the folder beside the clone in CI). */
export function fixturesDir(): string {
  return process.env.SDXS_FIXTURES ?? path.resolve(repoRoot(), '../shared/fixtures');
}
