import { defineConfig } from 'tsup';
import { packageBuild } from '../../tools/tsup.base.js';

export default defineConfig([
  packageBuild(),
  // the executable: ESM only, with a shebang; dist/bin.js is started by bin/sdxs.js
  packageBuild({ bin: 'src/bin.ts' }, { format: ['esm'], dts: false, clean: false, banner: { js: '#!/usr/bin/env node' } }),
]);
