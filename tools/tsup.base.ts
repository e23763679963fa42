import type { Options } from 'tsup';

/**
 * The one build setup of every published package: ESM + CJS + .d.ts, source maps, ES2022. Workspace
 * packages (including optional ones) and native modules stay imports, never bundled.
 */
export function packageBuild(entry: Options['entry'] = ['src/index.ts'], extra: Options = {}): Options {
  return {
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'es2022',
    external: [/^@sdxs\//, 'sharp', 'webgpu', /^@tensorflow\//],
    ...extra,
  };
}
