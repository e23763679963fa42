import type { Options } from 'tsup';

/**
 * The one build setup of every published package: ESM + CJS + .d.ts, ES2022. Workspace packages (including
 * optional ones) and native modules stay imports, never bundled. No source maps unless SDXS_SOURCEMAP=1: the
 * published files leave them out (`!dist/**\/*.map`), and a map-less bundle must not point at one; in the
 * workspace, tests and the page run the TypeScript sources anyway (the `sdxs-source` condition).
 */
export function packageBuild(entry: Options['entry'] = ['src/index.ts'], extra: Options = {}): Options {
  return {
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: process.env.SDXS_SOURCEMAP === '1',
    clean: true,
    target: 'es2022',
    external: [/^@sdxs\//, 'sharp', 'webgpu', /^@tensorflow\//],
    esbuildOptions(options, { format }) {
      // Every `import.meta.url` here is behind `typeof __filename === 'string' ? __filename : …`, which the CJS
      // build takes: esbuild's "import.meta is empty in cjs" warning is about a branch that never runs there.
      if (format === 'cjs') options.logOverride = { ...options.logOverride, 'empty-import-meta': 'silent' };
    },
    ...extra,
  };
}
