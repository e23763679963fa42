/** Euclidean norm of all gradients taken together (accumulated in float64). */
export function globalNorm(grads: readonly Float32Array[]): number {
  let s = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) s += g[i]! * g[i]!;
  return Math.sqrt(s);
}

/**
 * Clip by global norm as torch.nn.utils.clip_grad_norm_ does: scale every gradient by
 * min(1, maxNorm / (norm + 1e-6)). Returns the norm before clipping.
 */
export function clipGlobalNorm(grads: readonly Float32Array[], maxNorm: number): number {
  const norm = globalNorm(grads);
  const scale = maxNorm / (norm + 1e-6);
  if (scale < 1) for (const g of grads) for (let i = 0; i < g.length; i++) g[i] = g[i]! * scale;
  return norm;
}
