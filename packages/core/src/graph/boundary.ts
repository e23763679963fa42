/**
 * Compiled regions. On a graph-compiling backend (ort-*), ops are recorded, not run; `compiled(label, …)`
 * marks a model's forward as one region so that it becomes one graph with a stable cache key, whatever
 * ran before or after it. On every other backend these functions cost nothing.
 */
import { activeTape } from '../autograd/tape.js';
import { currentBackend } from '../engine.js';
import { Tensor } from '../tensor.js';
import { isLazyBackend, newCutGroup, type LazyBackend } from './lazy-backend.js';
import type { LazyValue } from './lazy-value.js';

/** Live tensors on graph backends found in a value: a tensor, or arrays, Maps and objects holding them (5 levels). */
function lazyTensors(v: unknown, out: Tensor[] = [], depth = 0): Tensor[] {
  if (depth > 5 || v === null || typeof v !== 'object') return out;
  if (v instanceof Tensor) {
    if (!v.isDisposed && isLazyBackend(v.backend)) out.push(v);
  } else if (Array.isArray(v)) for (const x of v) lazyTensors(x, out, depth + 1);
  else if (v instanceof Map) for (const x of v.values()) lazyTensors(x, out, depth + 1);
  // plain objects and class instances (a posterior, a conditioning) alike
  else for (const x of Object.values(v as Record<string, unknown>)) lazyTensors(x, out, depth + 1);
  return out;
}

const handles = (v: unknown): LazyValue[] => lazyTensors(v).map((t) => t.handle as LazyValue);

function cut(values: readonly LazyValue[], label: string): void {
  const group = newCutGroup();
  for (const v of values) {
    if (!v.pending || v.cut) continue;
    v.cut = true;
    v.group = group;
    v.label = label;
  }
}

/**
 * Run `fn` as one compiled region named `label`: on a graph backend its inputs (tensors found in
 * `inputs`) are computed by graphs of their own and its outputs end the region's graph. The result is
 * returned as is; on eager backends this is just `fn()`. `sideOutputs` names tensors the region stores
 * elsewhere (a generation cache) so that they come out of the same graph.
 */
export function compiled<T>(label: string, inputs: unknown, fn: () => T, sideOutputs?: () => unknown): T {
  const backend = currentBackend();
  if (!isLazyBackend(backend)) return fn();
  cut(handles(inputs), `${label}:input`);
  const result = fn();
  // Under a recording tape (a training step) the outputs are not cut: the backward needs the region's
  // intermediates, so forward and backward become one graph (one session, one copy of the weights)
  // instead of a forward graph and a backward graph that computes the forward again.
  const tape = activeTape();
  if (tape && !tape.paused) return result;
  // state written elsewhere (a generation cache) belongs to the same graph as the result
  cut(handles(sideOutputs ? [result, sideOutputs()] : result), label);
  return result;
}

/**
 * Compute every pending value in `v` (tensors, arrays or objects of tensors) now. Graph backends run
 * their recorded segments; eager backends have nothing pending. Awaiting this between the steps of a loop
 * keeps progress reports and cancellation in step with the work.
 */
export async function realize(v: unknown): Promise<void> {
  const byBackend = new Map<LazyBackend, LazyValue[]>();
  for (const t of lazyTensors(v)) {
    const b = t.backend as LazyBackend;
    byBackend.set(b, [...(byBackend.get(b) ?? []), t.handle as LazyValue]);
  }
  for (const [b, values] of byBackend) await b.realize(values);
}

/** Whether the active backend compiles graphs (ort-*), i.e. ops are recorded and run when read. */
export function isGraphBackend(): boolean {
  return isLazyBackend(currentBackend());
}
