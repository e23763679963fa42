import { defineConfig } from 'vitest/config';

// Workspace packages resolve to their TypeScript sources (the `sdxs-source` export condition),
// so tests never need a build.
export default defineConfig({
  resolve: { conditions: ['sdxs-source'] },
  ssr: { resolve: { conditions: ['sdxs-source'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
