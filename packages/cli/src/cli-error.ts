import { SdxsError } from '@sdxs/core';

/** Exit codes: 0 ok, 1 runtime failure, 2 bad usage, 130 interrupted. */
export const EXIT = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const;

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
  if (e instanceof UsageError || isArgParseError(e)) return EXIT.usage;
  if (e instanceof SdxsError && e.code === 'ABORTED') return EXIT.interrupted;
  if (e instanceof SdxsError && (e.code === 'INPUT' || e.code === 'CONFIG')) return EXIT.usage;
  return EXIT.failure;
}
