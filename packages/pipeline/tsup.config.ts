import { defineConfig } from 'tsup';
import { packageBuild } from '../../tools/tsup.base.js';

// The pipeline, the worker side of the worker protocol, and its main-thread client (which loads no model code).
export default defineConfig(packageBuild({ index: 'src/index.ts', 'worker/index': 'src/worker/index.ts', 'worker-client/index': 'src/worker/client-index.ts' }));
