export { main, VERSION } from './main.js';
export { COMMANDS } from './commands/index.js';
export { ProgressBar, formatDuration, formatBytes, silentProgress, type ProgressSink } from './progress.js';
export { UsageError, EXIT, EXIT_HELP, exitCodeFor } from './cli-error.js';
export type { CliIo, Command } from './io.js';
