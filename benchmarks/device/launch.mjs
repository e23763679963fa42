// The device run's entry (copied into the carry folder as app/bench-main.mjs): the bundle itself is imported, not
// run, so the benchmark modules bundled into it do not take it for their own command line.
import { main } from './bench.mjs';

process.exitCode = await main(process.argv.slice(2));
