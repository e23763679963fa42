import { main } from './main.js';
import { abortOnSignals, processIo } from './io.js';

const controller = new AbortController();
// first Ctrl-C or SIGTERM: cancel cleanly (no partial outputs); second: leave at once
abortOnSignals(controller);
main(process.argv.slice(2), processIo(controller.signal)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`sdxs: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  },
);
