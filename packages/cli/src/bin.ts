import { main } from './main.js';
import { processIo } from './io.js';

const controller = new AbortController();
let interrupts = 0;
process.on('SIGINT', () => {
  // first Ctrl-C: cancel cleanly (no partial outputs); second: leave at once
  if (++interrupts > 1) process.exit(130);
  controller.abort('interrupted by Ctrl-C');
});
main(process.argv.slice(2), processIo(controller.signal)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`sdxs: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  },
);
