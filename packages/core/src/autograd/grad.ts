import { SdxsError } from '../errors.js';
import { tidy } from '../engine.js';
import { ones, zeros } from '../ops/create.js';
import type { Tensor } from '../tensor.js';
import { activeTape, backward, withTape } from './tape.js';

export interface ValueAndGrad {
  value: Tensor;
  /** One gradient per parameter, in order (zeros for a parameter the loss does not depend on). */
  grads: Tensor[];
}

/**
 * Value of a scalar loss and its gradients w.r.t. `params` (reverse mode). Every intermediate tensor
 * is freed before returning; the caller owns `value` and `grads`.
 */
export function valueAndGrad(loss: () => Tensor, params: readonly Tensor[]): ValueAndGrad {
  return tidy(() => {
    const { tape, result: value } = withTape(params, () => loss());
    try {
      if (value.size !== 1) throw new SdxsError('SHAPE', `valueAndGrad needs a scalar loss, got shape [${value.shape.join(', ')}]`);
      const seed = ones(value.shape);
      const gs = backward(tape, [value], [seed], params);
      seed.dispose();
      const grads = gs.map((g, i) => g ?? zeros(params[i]!.shape));
      return { value, grads };
    } finally {
      tape.release();
    }
  });
}

/** Gradients only. */
export function grad(loss: () => Tensor, params: readonly Tensor[]): Tensor[] {
  const { value, grads } = valueAndGrad(loss, params);
  value.dispose();
  return grads;
}

/** Vector-Jacobian product of fn at `inputs` with cotangent `dy`. */
export function vjp(fn: (...xs: Tensor[]) => Tensor, inputs: readonly Tensor[], dy: Tensor): { value: Tensor; grads: Tensor[] } {
  return tidy(() => {
    const { tape, result: value } = withTape(inputs, () => fn(...inputs));
    try {
      const gs = backward(tape, [value], [dy], inputs);
      return { value, grads: gs.map((g, i) => g ?? zeros(inputs[i]!.shape)) };
    } finally {
      tape.release();
    }
  });
}

/** Run fn without recording gradients (inference inside a training step). */
export function noGrad<T>(fn: () => T): T {
  const tape = activeTape();
  if (!tape || tape.paused) return fn();
  tape.paused = true;
  try {
    return fn();
  } finally {
    tape.paused = false;
  }
}

/**
 * Gradient checkpointing: run `fn` without keeping its intermediates; in the backward pass it is run
 * again under a nested tape. Gradients reach both `inputs` and any watched parameter used inside fn.
 * Outside a tape it is a plain call.
 */
export function checkpoint(fn: (...xs: Tensor[]) => Tensor | Tensor[], inputs: readonly Tensor[]): Tensor | Tensor[] {
  const tape = activeTape();
  if (!tape || tape.paused) return fn(...inputs);
  tape.paused = true;
  let outs: Tensor | Tensor[];
  try {
    outs = fn(...inputs);
  } finally {
    tape.paused = false;
  }
  const list = Array.isArray(outs) ? outs : [outs];
  tape.record({
    inputs,
    outputs: list,
    vjp: (dys, ctx) =>
      tidy(() => {
        const watched = [...inputs, ...tape.watched];
        const inner = withTape(watched, () => {
          const r = fn(...inputs);
          return Array.isArray(r) ? r : [r];
        });
        try {
          const roots: Tensor[] = [];
          const seeds: Tensor[] = [];
          inner.result.forEach((o, i) => {
            const d = dys[i];
            // fn may return one tensor in several slots: its gradient (already the total) is seeded once
            if (d && list.indexOf(list[i]!) === i) {
              roots.push(o);
              seeds.push(d);
            }
          });
          const gs = backward(inner.tape, roots, seeds, inputs, ctx);
          return gs;
        } finally {
          inner.tape.release();
        }
      }),
  });
  return outs;
}
