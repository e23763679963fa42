/**
 * Compiled regions. On a graph-compiling backend (ort-*), ops are recorded, not run; `compile(label, fn)`
 * makes a model's forward one region, so that it becomes one graph with a stable cache key whatever ran
 * before or after it. On every other backend the compiled function is `fn` under `tidy`.
 */
import { activeTape } from '../autograd/tape.js';
import { currentBackend, tidy } from '../engine.js';
import { Tensor } from '../tensor.js';
import { isLazyBackend, newCutGroup } from './lazy-backend.js';
import { lastValueId, type LazyValue } from './lazy-value.js';

/** Live tensors found in a value: a tensor, or arrays, Maps and objects holding them (5 levels). */
function tensorsIn(v: unknown, out: Tensor[] = [], depth = 0): Tensor[] {
  if (depth > 5 || v === null || typeof v !== 'object') return out;
  if (v instanceof Tensor) {
    if (!v.isDisposed) out.push(v);
  } else if (Array.isArray(v)) for (const x of v) tensorsIn(x, out, depth + 1);
  else if (v instanceof Map) for (const x of v.values()) tensorsIn(x, out, depth + 1);
  // plain objects and class instances (a posterior, a conditioning, a generation cache) alike
  else for (const x of Object.values(v as Record<string, unknown>)) tensorsIn(x, out, depth + 1);
  return out;
}

/** The graph values of the tensors in `v` that live on graph backends. */
const handles = (v: unknown): LazyValue[] => tensorsIn(v).filter((t) => isLazyBackend(t.backend)).map((t) => t.handle as LazyValue);

function cut(values: readonly LazyValue[], label: string, group = newCutGroup()): void {
  for (const v of values) {
    if (!v.pending || v.cut) continue;
    v.cut = true;
    v.group = group;
    v.label = label;
  }
}

/**
 * Pending values recorded before the region (ids up to `mark`) that the region's ops read without their
 * being arguments (closed over: a module's cached tensor, statistics kept across calls). Each becomes an
 * input of the region like an argument: computed by a graph of its own and fed per run, so that what ran
 * before the region is never part of its graph or of its cache key. Weights are leaves, never pending.
 */
function closedOver(outputs: readonly LazyValue[], mark: number): LazyValue[] {
  const found: LazyValue[] = [];
  const seen = new Set<LazyValue>();
  const stack = outputs.filter((v) => v.pending && !v.cut);
  for (const v of stack) seen.add(v);
  while (stack.length) {
    const v = stack.pop()!;
    for (const u of v.inputs) {
      if (!u || seen.has(u) || !u.pending || u.cut || u.constant) continue;
      seen.add(u);
      if (u.id <= mark) found.push(u);
      else stack.push(u);
    }
  }
  return found;
}

/**
 * A compiled function named `label`: `compile(label, fn)(...args)` runs `fn(...args)` under `tidy` (tensors
 * it makes and does not return are freed). On a graph backend (ort-*) the tensors found in its arguments
 * (tensors, or arrays, Maps, objects and class instances holding them) are the graph's inputs, computed by
 * graphs of their own; its result ends the graph. The graph is cached by op structure and shapes: calling
 * the function again with inputs of the same shapes and dtypes reuses the compiled session, whatever
 * computed the inputs.
 *
 * - Tensors `fn` closes over (neither arguments nor weights) are inputs too, taken the same way: they can
 *   never be baked into the graph or change its cache key (so a closed-over tensor cannot silently go stale
 *   or cause a recompile). Passing them as arguments says so in the code.
 * - Weights (Parameter values) are baked into the graph when constant and fed per run when changing.
 * - Tensors `fn` writes into an argument (a generation cache's new state) come out of the same graph as
 *   its result; `fn` keeps them alive itself (`keep`), as they are not in its result.
 * - Under a recording autograd tape (a training step) the result does not end the graph: forward and
 *   backward become one graph (one session, one copy of the weights).
 *
 * On eager backends the compiled function is `fn` under `tidy`.
 */
export function compile<A extends unknown[], R>(label: string, fn: (...args: A) => R): (...args: A) => R {
  return (...args: A): R => {
    if (!isLazyBackend(currentBackend())) return tidy(() => fn(...args));
    cut(handles(args), `${label}:input`);
    const mark = lastValueId();
    const result = tidy(() => fn(...args));
    // what fn wrote into its arguments (a cache) belongs to the same graph as the result
    const outputs = handles([result, args]);
    cut(closedOver(outputs, mark), `${label}:input`);
    const tape = activeTape();
    if (!tape || tape.paused) cut(outputs, label);
    return result;
  };
}

/**
 * Compute every pending value in `v` (tensors, arrays or objects of tensors) now. Graph backends run
 * their recorded segments; eager backends have nothing pending. Awaiting this between the steps of a loop
 * keeps progress reports and cancellation in step with the work.
 */
export async function realize(v: unknown): Promise<void> {
  const byBackend = new Map<NonNullable<Tensor['backend']>, unknown[]>();
  for (const t of tensorsIn(v)) {
    const b = t.backend;
    if (!b?.realize) continue;
    byBackend.set(b, [...(byBackend.get(b) ?? []), t.handle]);
  }
  for (const [b, values] of byBackend) await b.realize!(values);
}

/**
 * Whether the active backend compiles graphs (`Backend.compiles`: ort-*): ops are recorded and run when read,
 * and compiled graphs are reused for the same shapes.
 */
export function isGraphBackend(): boolean {
  return currentBackend().compiles === true;
}
