/**
 * Bundles the device run's Node program into one ES module for the carry folder. The workspace packages stay
 * imports of `@sdxs/*` (the carried node_modules has their dist), also where a benchmark module imports them by
 * relative source path, so the bundle and the CLI share one copy of core.
 *   node --import tsx benchmarks/device/bundle.ts <out.mjs>
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));

const workspaceAsPackage: Plugin = {
  name: 'workspace-as-package',
  setup(b) {
    b.onResolve({ filter: /packages\/[a-z-]+\/src\/index\.js$/ }, (args) => {
      const pkg = /packages\/([a-z-]+)\/src\/index\.js$/.exec(args.path)![1];
      return { path: `@sdxs/${pkg}`, external: true };
    });
  },
};

export async function bundle(out: string): Promise<void> {
  await build({
    entryPoints: [path.join(here, 'bench.ts')],
    outfile: out,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    plugins: [workspaceAsPackage],
    logLevel: 'warning',
  });
}

const out = process.argv[2];
if (!out) {
  process.stderr.write('usage: node --import tsx benchmarks/device/bundle.ts <out.mjs>\n');
  process.exit(2);
}
await bundle(path.resolve(out));
