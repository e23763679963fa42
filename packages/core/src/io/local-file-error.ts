/** Why a local model file cannot be opened; `message` says what to change. (Its own file: no Node types, so the main entry can export it.) */
export class LocalFileError extends Error {
  readonly code: 'ENOENT' | 'NOT_REGULAR' | 'OUTSIDE' | 'IO';
  constructor(code: LocalFileError['code'], message: string) {
    super(message);
    this.code = code;
    this.name = 'LocalFileError';
  }
}
