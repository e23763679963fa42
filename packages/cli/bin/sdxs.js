#!/usr/bin/env node
// Launcher kept outside dist/ so the `sdxs` link exists right after `npm ci`, before a build.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/bin.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('sdxs: the CLI is not built yet; run `npm run build` at the repository root first\n');
  process.exit(1);
}
await import(entry.href);
