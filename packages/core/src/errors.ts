/** Typed errors. Every error names what to change; `code` is stable for programmatic handling. */
export type SdxsErrorCode =
  | 'SHAPE'
  | 'DTYPE'
  | 'UNSUPPORTED_OP'
  | 'CHECKPOINT'
  | 'CONFIG'
  | 'BACKEND_UNAVAILABLE'
  | 'SAFETENSORS'
  | 'HUB'
  | 'DISPOSED'
  | 'ABORTED'
  | 'INPUT'
  | 'MEMORY'
  | 'USAGE'
  | 'NON_FINITE'
  | 'OUTPUT'
  | 'UNSUPPORTED';

export class SdxsError extends Error {
  readonly code: SdxsErrorCode;
  constructor(code: SdxsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

export class ShapeError extends SdxsError {
  constructor(message: string) {
    super('SHAPE', message);
  }
}
export class DTypeError extends SdxsError {
  constructor(message: string) {
    super('DTYPE', message);
  }
}
export class UnsupportedOpError extends SdxsError {
  constructor(backend: string, op: string, detail = '') {
    super('UNSUPPORTED_OP', `backend '${backend}' does not implement op '${op}'${detail ? `: ${detail}` : ''}`);
  }
}
export class CheckpointError extends SdxsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CHECKPOINT', message, options);
  }
}
export class ConfigError extends SdxsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CONFIG', message, options);
  }
}
export class BackendUnavailableError extends SdxsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BACKEND_UNAVAILABLE', message, options);
  }
}
/**
 * A short, safe rendering of an untrusted value for an error message: at most `max` characters, any
 * depth of nesting (JSON.stringify overflows the stack on deeply nested arrays), never throws.
 */
export function previewValue(value: unknown, max = 80): string {
  let out = '';
  const full = (): boolean => out.length > max;
  const walk = (v: unknown, depth: number): void => {
    if (full()) return;
    if (depth > 6) {
      out += '…';
      return;
    }
    if (Array.isArray(v)) {
      out += '[';
      for (let i = 0; i < v.length && !full(); i++) {
        if (i) out += ',';
        walk(v[i], depth + 1);
      }
      out += ']';
    } else if (typeof v === 'object' && v !== null) {
      out += '{';
      let first = true;
      for (const k in v) {
        if (full()) break;
        if (!first) out += ',';
        first = false;
        out += `${JSON.stringify(k.length > max ? k.slice(0, max) : k)}:`;
        walk((v as Record<string, unknown>)[k], depth + 1);
      }
      out += '}';
    } else if (typeof v === 'string') out += JSON.stringify(v.length > max ? v.slice(0, max) : v);
    else out += String(v);
  };
  walk(value, 0);
  return out.length > max ? `${out.slice(0, max)}…` : out;
}

/** `s` cut to `max` characters (an ellipsis and the full length when cut): names from untrusted files. */
export function clip(s: string, max = 200): string {
  return s.length > max ? `${s.slice(0, max)}… (${s.length} characters)` : s;
}

/** Longest SafetensorsError message: headers are untrusted and can be 100 MB. */
const MAX_SAFETENSORS_MESSAGE = 2000;

/** A malformed safetensors file. `file` and `tensor` name where the problem is (the message stays under 2000 characters). */
export class SafetensorsError extends SdxsError {
  readonly file: string;
  readonly tensor: string | undefined;
  constructor(file: string, message: string, tensor?: string) {
    super('SAFETENSORS', clip(`${clip(file, 500)}${tensor ? ` [tensor '${clip(tensor)}']` : ''}: ${message}`, MAX_SAFETENSORS_MESSAGE));
    this.file = file;
    this.tensor = tensor;
  }
}
export class HubError extends SdxsError {
  readonly status: number | undefined;
  constructor(message: string, status?: number, options?: { cause?: unknown }) {
    super('HUB', message, options);
    this.status = status;
  }
}
export class AbortError extends SdxsError {
  constructor(message = 'operation aborted') {
    super('ABORTED', message);
  }
}
/** Work that would not fit in a backend's memory, refused before it starts; the message says what to change. */
export class MemoryLimitError extends SdxsError {
  constructor(message: string) {
    super('MEMORY', message);
  }
}
export class InputError extends SdxsError {
  constructor(message: string) {
    super('INPUT', message);
  }
}
/**
 * A computation whose values became NaN or ±Inf (diverged latents, a training loss that blew up): a
 * runtime failure, never a result. The message says where (which step) and what to change.
 */
export class NonFiniteError extends SdxsError {
  constructor(message: string) {
    super('NON_FINITE', message);
  }
}
/** A bad or missing command-line argument of a package's own command runner (the CLI exits 2 for it). */
export class ArgumentError extends SdxsError {
  constructor(message: string) {
    super('USAGE', message);
  }
}
/**
 * An output that cannot be written (full disk, read-only or missing folder, no permission): a runtime
 * failure of the machine, not a problem of the inputs (the CLI exits 1 for it, not 3). `file` names it.
 */
export class OutputError extends SdxsError {
  readonly file: string;
  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super('OUTPUT', `${file}: ${message}`, options);
    this.file = file;
  }
}

const WRITE_ERRNO: Record<string, string> = {
  ENOSPC: 'the disk is full (no space left on the device)',
  EDQUOT: 'the disk quota is exceeded',
  EROFS: 'the folder is on a read-only file system',
  EACCES: 'permission denied: the folder is not writable',
  EPERM: 'permission denied: the folder is not writable',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EEXIST: 'a part of the path exists and is not a folder',
  EISDIR: 'the output path is a folder',
  ENAMETOOLONG: 'the file name is too long',
  EFBIG: "the file is over the file system's size limit",
  EIO: 'an I/O error on the device',
};

/** What a failed write means, in words, from its errno code (or the message of a library that only says "write error"). */
export function describeWriteError(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && WRITE_ERRNO[code]) return `${WRITE_ERRNO[code]} (${code})`;
  const msg = e instanceof Error ? e.message : String(e);
  for (const [c, words] of Object.entries(WRITE_ERRNO)) if (msg.includes(c)) return `${words} (${c})`;
  if (/no space left/i.test(msg)) return `${WRITE_ERRNO.ENOSPC} (ENOSPC)`;
  if (/read-only file system/i.test(msg)) return `${WRITE_ERRNO.EROFS} (EROFS)`;
  if (/permission denied/i.test(msg)) return `${WRITE_ERRNO.EACCES} (EACCES)`;
  return msg.split('\n')[0]!;
}

/** Throws an AbortError when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError(typeof signal.reason === 'string' ? signal.reason : 'operation aborted');
}
