/**
 * `@sdxs/core/node`: what only runs in Node, Bun or Deno and whose types come from `@types/node`. The main
 * entry's declarations stay free of Node types, so a browser project type-checks it without `@types/node`.
 */
export { openLocalFile, LocalFileError } from '../io/local-file.js';
