import { defineConfig } from 'tsup';
import { packageBuild } from '../../tools/tsup.base.js';

// the main entry (browser-safe declarations) and the Node-only one (`@sdxs/core/node`)
export default defineConfig(packageBuild({ index: 'src/index.ts', 'node/index': 'src/node/index.ts' }));
