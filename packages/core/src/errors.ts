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
/** A malformed safetensors file. `file` and `tensor` name where the problem is. */
export class SafetensorsError extends SdxsError {
  readonly file: string;
  readonly tensor: string | undefined;
  constructor(file: string, message: string, tensor?: string) {
    super('SAFETENSORS', `${file}${tensor ? ` [tensor '${tensor}']` : ''}: ${message}`);
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
export class InputError extends SdxsError {
  constructor(message: string) {
    super('INPUT', message);
  }
}
/** Throws an AbortError when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError(typeof signal.reason === 'string' ? signal.reason : 'operation aborted');
}
