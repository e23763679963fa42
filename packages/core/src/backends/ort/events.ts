/** Compile progress of the graph backends: one event when a region starts compiling, one when it is ready. */
export interface CompileEvent {
  backend: string;
  /** the compiled region (`unet`, `vae.decode`, ...) */
  label: string;
  phase: 'start' | 'end';
  /** recorded ops in the region */
  ops: number;
  /** weights baked into it */
  weights: number;
  /** milliseconds from start to ready (0 at start) */
  ms: number;
}

export type CompileListener = (e: CompileEvent) => void;
const listeners = new Set<CompileListener>();

/** Listen to compile events (the CLI shows them as a progress line); returns the unsubscribe function. */
export function onCompile(listener: CompileListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function emitCompileEvent(e: CompileEvent): void {
  for (const l of listeners) l(e);
}
