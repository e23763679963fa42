import { listBackends, SdxsError } from '@sdxs/core';
import { errorLine, EXIT_HELP, exitCodeFor, isArgParseError, offlineHint, UsageError } from './cli-error.js';
import { COMMANDS } from './commands/index.js';
import type { CliIo } from './io.js';

export const VERSION = '0.1.0';

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `sdxs ${VERSION}: SDXS-1B text to image, 2x upscaling and training in TypeScript

Usage: sdxs <command> [options]   (sdxs <command> --help for a command's options)

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Common environment: SDXS_BACKEND (auto, ${listBackends().join(', ')}),
SDXS_COMPUTE (auto, f16, f32), HF_TOKEN, HF_ENDPOINT, HF_HUB_OFFLINE=1, HF_HUB_CACHE.
${EXIT_HELP}`;
}

/** Run the CLI in-process; returns the exit code (EXIT: 0 ok, 1 runtime, 2 usage, 3 input, 130 interrupted). */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '-h' || name === '--help' || name === 'help') {
    io.stdout.write(`${usage()}\n`);
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-v') {
    io.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  try {
    if (!cmd) throw new UsageError(`unknown command '${name}'; commands: ${COMMANDS.map((c) => c.name).join(', ')}`);
    return await cmd.run(rest, io);
  } catch (e) {
    const code = exitCodeFor(e);
    const msg = e instanceof UsageError || e instanceof SdxsError || isArgParseError(e) ? (e as Error).message : ((e as Error).stack ?? String(e));
    io.stderr.write(`${errorLine(cmd?.name, code, msg)}\n`);
    const hint = offlineHint(cmd?.name, e);
    if (hint) io.stderr.write(`${hint}\n`);
    return code;
  }
}
