import { defineConfig } from 'tsup';
import { packageBuild } from '../../tools/tsup.base.js';

// The browser-safe entry and the Node-only entry (sharp, fs, child_process) are separate bundles.
export default defineConfig(packageBuild({ index: 'src/index.ts', 'node/index': 'src/node/index.ts' }));
