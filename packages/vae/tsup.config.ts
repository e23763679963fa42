import { defineConfig } from 'tsup';

export default defineConfig({
  // The browser-safe entry and the Node-only entry (sharp, fs, child_process) are separate bundles.
  entry: { index: 'src/index.ts', 'node/index': 'src/node/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  external: ['sharp', '@sdxs/core'],
});
