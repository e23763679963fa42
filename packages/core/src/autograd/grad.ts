import { SdxsError } from '../errors.js';
import type { ComputeDType } from '../dtype.js';
import { tidy } from '../engine.js';
import { ones, zeros } from '../ops/create.js';
import { Tensor } from '../tensor.js';
import { activeTape, backward, withTape } from './tape.js';
import { flattenTensors, rebuildTensors, type TensorTree } from './tensor-tree.js';

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
 * Gradient checkpointing: run `fn(...args)` without keeping its intermediates; in the backward pass it is
 * run again under a nested tape. Each argument and the result may be a tensor tree (tensors in arrays and
 * plain objects, e.g. `[x, { temb, context, contextBias }]` → `{ hidden, states }`). Gradients reach every
 * tensor of `args` and any watched parameter used inside fn. Outside a tape it is a plain call.
 */
export function checkpoint<A extends readonly TensorTree[], O extends TensorTree>(fn: (...args: A) => O, args: A): O {
  const tape = activeTape();
  if (!tape || tape.paused) return fn(...args);
  tape.paused = true;
  let outs: O;
  try {
    outs = fn(...args);
  } finally {
    tape.paused = false;
  }
  const inputs = flattenTensors(args);
  const list = flattenTensors(outs);
  tape.record({
    inputs,
    outputs: list,
    vjp: (dys, ctx) =>
      tidy(() => {
        const xs = recomputeInputs(inputs, dys);
        const watched = [...xs, ...tape.watched];
        const inner = withTape(watched, () => flattenTensors(fn(...rebuildTensors(args, xs))));
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
          const gs = backward(inner.tape, roots, seeds, xs, ctx);
          return gs;
        } finally {
          inner.tape.release();
        }
      }),
  });
  return outs;
}

/**
 * The inputs a checkpointed function is recomputed from: each one again, computed only once the gradient has
 * arrived (`Backend.sequence`). Eager backends run ops in program order: there these are the inputs
 * themselves. Graph backends record forward and backward as one graph, where the recompute would be the same
 * nodes on the same values as the forward, and a compiler's common-subexpression pass merges them (every
 * forward intermediate then lives until the backward: no checkpointing). Their `sequence` gives new graph
 * values, bit for bit the inputs (a select between x and x, no arithmetic: an Inf or NaN in the gradient
 * cannot reach them), that cannot be computed before the gradient arrives, so the recompute runs late, block
 * by block, as on eager backends.
 */
function recomputeInputs(inputs: readonly Tensor[], dys: readonly (Tensor | null)[]): readonly Tensor[] {
  const dy = dys.find((d) => d !== null);
  const b = dy?.backend;
  if (!dy || !b?.sequence) return inputs;
  const float = [...new Set(inputs.filter((x) => x.backend === b && x.dtype === 'float32'))];
  const input = (t: Tensor) => ({ handle: t.handle, shape: t.shape, dtype: t.dtype as ComputeDType });
  const handles = b.sequence(float.map(input), input(dy));
  const late = new Map(float.map((x, i) => [x, new Tensor(x.shape, x.dtype, b, handles[i])]));
  return inputs.map((x) => late.get(x) ?? x);
}
