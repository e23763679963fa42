/**
 * Test helpers shared by every package: `import { forEachBackend } from '@sdxs/core/testing'`. The entry exists
 * only under the workspace's `sdxs-source` condition (vitest and tsc resolve it to this file): it is repository
 * tooling (vitest, fixture paths, local servers), never built or published.
 */
export { TEST_BACKENDS, PARITY_BACKENDS, CI_BACKENDS, skipUnlessBackend, HALF_BUDGET, INT8_BUDGET, budgetOf, reducedPrecision, type ReducedBudgets, parseBackendSpec, isHalfSpec, relMaxError, relL2Error, forEachBackend, preferSoftwareVulkan, testBackendNames, type ForEachBackendOptions } from './backends.js';
export { compareClose, expectClose, expectParity, maxAbsDiff, type CloseReport } from './compare.js';
export { diffusersCase, fixturesDir, host, readAll, repoRoot } from './fixtures.js';
export { startLocalHub, startStaticServer, LOCAL_HUB_COMMIT, type LocalHub, type StaticServer } from './hub-server.js';
export { lcgValues } from './lcg.js';
export { trackCompiles } from './compiles.js';
export { skipUnless, underCi, type SkipOptions } from './skip.js';
export { sendFile, type ServedFile } from './send-file.js';
