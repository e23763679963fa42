import { HubError, SdxsError } from '@sdxs/core';

/**
 * Exit codes, defined once and followed by every command:
 * 0 ok; 1 runtime failure (backend, network, memory, a bug); 2 usage (bad or missing arguments);
 * 3 input (a file, image, video, model folder, config or checkpoint that is missing or cannot be used);
 * 130 interrupted (Ctrl-C, SIGTERM).
 */
export const EXIT = { ok: 0, runtime: 1, usage: 2, input: 3, interrupted: 130 } as const;

/** One line per code, for help texts. */
export const EXIT_HELP = 'Exit codes: 0 ok, 1 runtime failure, 2 usage error, 3 unusable input (file, image, model, config), 130 interrupted.';

/** Error codes that mean the user's input (a file, a model, a config) cannot be used. */
const INPUT_CODES = new Set(['INPUT', 'CONFIG', 'SAFETENSORS', 'CHECKPOINT']);

/** A usage error: bad or missing argument. The message says what to change. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** node:util parseArgs rejections (unknown option, missing value) are usage errors too. */
export function isArgParseError(e: unknown): boolean {
  return e instanceof TypeError && typeof (e as { code?: unknown }).code === 'string' && (e as unknown as { code: string }).code.startsWith('ERR_PARSE_ARGS');
}

export function exitCodeFor(e: unknown): number {
  if (e instanceof UsageError || isArgParseError(e) || (e instanceof SdxsError && e.code === 'USAGE')) return EXIT.usage;
  if (e instanceof SdxsError && e.code === 'ABORTED') return EXIT.interrupted;
  if (e instanceof SdxsError && INPUT_CODES.has(e.code)) return EXIT.input;
  // a repo id or file that the hub does not have is the user's input, like a missing local folder
  if (e instanceof SdxsError && e.code === 'HUB' && (e as SdxsError & { status?: number }).status === 404) return EXIT.input;
  return EXIT.runtime;
}

/** Commands that load a model and so can run on the tiny one instead of the hub's. */
const MODEL_COMMANDS = new Set(['generate', 'upscale', 'refine', 'eval', 'bench', 'data']);

/**
 * For a hub that could not be reached (offline, a firewall, a timeout) while a command wanted the default
 * model: what works without a network. Undefined for every other error.
 */
export function offlineHint(command: string | undefined, e: unknown): string | undefined {
  if (!command || !MODEL_COMMANDS.has(command) || !(e instanceof HubError) || e.status !== undefined) return undefined;
  return [
    'No network? Everything runs on a local model folder given with --model. The tiny one needs no download:',
    '  sdxs make-tiny-model tiny',
    `  sdxs ${command === 'upscale' ? 'upscale photo.png --model tiny' : command === 'eval' ? 'eval vae --images photos/ --model tiny' : 'generate "a red fox" --model tiny -W 256 -H 256 --steps 4 -o tiny.png'}`,
    '(random weights: its pictures and upscales are noise, but every stage runs). Or, once online:',
    '  sdxs download AiArtLab/sdxs-1b, then HF_HUB_OFFLINE=1 uses the cache.',
  ].join('\n');
}

/** The label of an error line for an exit code. */
export function labelFor(code: number): string {
  return code === EXIT.interrupted ? 'interrupted' : code === EXIT.usage ? 'usage error' : code === EXIT.input ? 'input error' : 'error';
}

/**
 * `sdxs <cmd>: <label>: <message>` with the message's own `sdxs <cmd>: ` prefix (which some messages
 * carry so that they read well on their own) removed, so the line is prefixed once.
 */
export function errorLine(command: string | undefined, code: number, message: string): string {
  const prefix = `sdxs${command ? ` ${command}` : ''}`;
  const msg = message.replace(/^sdxs(?: [\w-]+)*: /, '');
  return `${prefix}: ${labelFor(code)}: ${msg}`;
}
