import { defaultClientConditions, defineConfig, type Plugin } from 'vite';

/** Node built-ins that our packages import lazily (hub cache, file reads): they stay external and never run in the page. */
const NODE_BUILTIN = /^node:/;
/** Node-only packages that must never reach the browser bundle. */
const FORBIDDEN = /^(sharp|@sdxs\/vae\/node|webgpu)(\/|$)/;

/**
 * No Node polyfills: built-ins are left as (lazy, never reached) external imports, and the build fails
 * when a chunk imports one statically or when a Node-only package (sharp, ...) is pulled in.
 */
export function browserOnly(): Plugin {
  return {
    name: 'sdxs-browser-only',
    enforce: 'pre',
    resolveId(id, importer) {
      if (FORBIDDEN.test(id)) this.error(`'${id}' is Node-only and must not be bundled for the browser (imported by ${importer ?? '?'})`);
      if (NODE_BUILTIN.test(id)) return { id, external: true };
      return null;
    },
    generateBundle(_options, bundle) {
      for (const chunk of Object.values(bundle)) {
        if (chunk.type !== 'chunk') continue;
        const bad = chunk.imports.filter((i) => NODE_BUILTIN.test(i));
        if (bad.length) this.error(`${chunk.fileName} imports ${bad.join(', ')} statically: Node built-ins may only be imported lazily`);
      }
    },
  };
}

export default defineConfig({
  base: './',
  // workspace packages from their TypeScript sources, as in the tests
  resolve: { conditions: ['sdxs-source', ...defaultClientConditions] },
  plugins: [browserOnly()],
  // the model worker (src/worker/sdxs.worker.ts) is a module worker: ES output (it code-splits, e.g. the
  // tfjs-wasm backend loads on demand), with the same no-Node-built-ins rule as the page
  worker: { format: 'es', plugins: () => [browserOnly()] },
  build: { target: 'es2022', chunkSizeWarningLimit: 4096 },
  esbuild: { target: 'es2022' },
  optimizeDeps: { esbuildOptions: { target: 'es2022' } },
});
