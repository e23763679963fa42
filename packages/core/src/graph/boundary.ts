/**
 * Compiled regions. On a graph-compiling backend (ort-*), ops are recorded, not run; `compiled(label, …)`
 * marks a model's forward as one region so that it becomes one graph with a stable cache key, whatever
 * ran before or after it. On every other backend these functions cost nothing.
 */
import { currentBackend } from '../engine.js';
import { Tensor } from '../tensor.js';
import { isLazyBackend, newCutGroup } from './lazy-backend.js';
import type { LazyValue } from './lazy-value.js';

function lazyValues(v: unknown, out: LazyValue[], depth = 0): void {
  if (depth > 5 || v === null || typeof v !== 'object') return;
  if (v instanceof Tensor) {
    if (!v.isDisposed && isLazyBackend(v.backend)) out.push(v.handle as LazyValue);
    return;
  }
  if (Array.isArray(v)) for (const x of v) lazyValues(x, out, depth + 1);
  else if (v instanceof Map) for (const x of v.values()) lazyValues(x, out, depth + 1);
  else if (Object.getPrototypeOf(v) === Object.prototype || typeof (v as { constructor?: unknown }).constructor === 'function') {
    for (const x of Object.values(v as Record<string, unknown>)) lazyValues(x, out, depth + 1);
  }
}

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
  const ins: LazyValue[] = [];
  lazyValues(inputs, ins);
  cut(ins, `${label}:input`);
  const result = fn();
  const outs: LazyValue[] = [];
  lazyValues(result, outs);
  // state written elsewhere (a generation cache) belongs to the same graph as the result
  if (sideOutputs) lazyValues(sideOutputs(), outs);
  cut(outs, label);
  return result;
}

/**
 * Compute every pending value in `v` (tensors, arrays or objects of tensors) now. Graph backends run
 * their recorded segments; eager backends have nothing pending. Awaiting this between the steps of a loop
 * keeps progress reports and cancellation in step with the work.
 */
export async function realize(v: unknown): Promise<void> {
  const byBackend = new Map<object, LazyValue[]>();
  const collect = (t: unknown): void => {
    if (t instanceof Tensor) {
      if (!t.isDisposed && isLazyBackend(t.backend)) {
        const list = byBackend.get(t.backend) ?? [];
        list.push(t.handle as LazyValue);
        byBackend.set(t.backend, list);
      }
      return;
    }
    if (Array.isArray(t)) for (const x of t) collect(x);
    else if (t && typeof t === 'object') for (const x of Object.values(t)) collect(x);
  };
  collect(v);
  for (const [b, values] of byBackend) {
    if (isLazyBackend(b as never)) await (b as unknown as { realize(v: readonly LazyValue[]): Promise<void> }).realize(values);
  }
}

/** Whether the active backend compiles graphs (ort-*), i.e. ops are recorded and run when read. */
export function isGraphBackend(): boolean {
  return isLazyBackend(currentBackend());
}
