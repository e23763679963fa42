import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  // optional dependencies (the model packages) stay imports, never bundled
  external: [/^@sdxs\//, 'sharp'],
});
