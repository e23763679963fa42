/**
 * Regions of model code that compute in float32 even in a float16 graph, the way the reference casts to
 * float32 around numerically delicate kernels (Qwen3.5's gated delta rule runs in float32 under any
 * dtype). Ops recorded inside `fullPrecision(fn)` are marked; the float16 lowering (onnx/precision.ts)
 * computes them in float32. On eager backends, and in float32 graphs, it only runs `fn`.
 */
let depth = 0;

/** Run `fn` with every op it records marked to compute in float32. Synchronous only. */
export function fullPrecision<T>(fn: () => T): T {
  depth++;
  try {
    const r = fn();
    if (r instanceof Promise) throw new TypeError('fullPrecision() takes a synchronous function');
    return r;
  } finally {
    depth--;
  }
}

/** Whether ops recorded now are inside a fullPrecision region. */
export const inFullPrecision = (): boolean => depth > 0;
