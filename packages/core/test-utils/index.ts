/**
 * Test helpers shared by every package (not published). Import through a relative path from a
 * package's test folder: `import { forEachBackend } from '../../core/test-utils/index.js'`.
 */
export { TEST_BACKENDS, PARITY_BACKENDS, HALF_BUDGET, parseBackendSpec, isHalfSpec, relMaxError, forEachBackend, preferSoftwareVulkan, testBackendNames, type ForEachBackendOptions } from './backends.js';
export { compareClose, expectClose, expectParity, maxAbsDiff, type CloseReport } from './compare.js';
export { diffusersCase, fixturesDir, host, readAll, repoRoot } from './fixtures.js';
export { startLocalHub, startStaticServer, LOCAL_HUB_COMMIT, type LocalHub, type StaticServer } from './hub-server.js';
export { lcgValues } from './lcg.js';
