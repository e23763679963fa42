import type { LazyValue } from './lazy-value.js';

/**
 * One compilable piece of a recorded graph: the pending ops needed for `outputs`, in topological order,
 * fed by realised values (`inputs`) and weights (`constants`). Two segments with the same `key` have the
 * same ops, attributes, shapes and weights (by identity), so one compiled session serves both.
 */
export interface Segment {
  nodes: LazyValue[];
  inputs: LazyValue[];
  constants: LazyValue[];
  outputs: LazyValue[];
  key: string;
  label: string;
}

/** Pending values that are segment boundaries and must be realised before `targets` can be planned. */
export function pendingCuts(targets: readonly LazyValue[]): LazyValue[] {
  const cuts: LazyValue[] = [];
  const own = new Set(targets);
  walk(targets, (v) => {
    if ((v.cut || v.constant) && !own.has(v)) {
      cuts.push(v);
      return false;
    }
    return true;
  });
  return cuts;
}

/**
 * Post-order walk over pending values reachable from `targets`; `enter` decides whether to descend into
 * (and emit) a pending value. Iterative: UNet graphs are thousands of ops deep.
 */
function walk(targets: readonly LazyValue[], enter: (v: LazyValue) => boolean, leaf?: (v: LazyValue) => void, emit?: (v: LazyValue) => void): void {
  const seen = new Set<LazyValue>();
  const stack: [LazyValue, number][] = [];
  for (const t of targets) {
    if (seen.has(t)) continue;
    seen.add(t);
    if (!t.pending) {
      leaf?.(t);
      continue;
    }
    if (!enter(t)) continue;
    stack.push([t, 0]);
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const [v, i] = top;
      if (i < v.inputs.length) {
        top[1]++;
        const u = v.inputs[i];
        if (!u || seen.has(u)) continue;
        seen.add(u);
        if (!u.pending) leaf?.(u);
        else if (enter(u)) stack.push([u, 0]);
        continue;
      }
      stack.pop();
      emit?.(v);
    }
  }
}

const shapeKey = (v: LazyValue): string => `${v.dtype === 'int32' ? 'i' : 'f'}[${v.shape.join(',')}]`;

/** Plan the segment that computes `outputs` (every pending cut below them must be realised already). */
export function planSegment(outputs: readonly LazyValue[], label: string): Segment {
  const nodes: LazyValue[] = [];
  const inputs: LazyValue[] = [];
  const constants: LazyValue[] = [];
  walk(
    outputs,
    () => true,
    (v) => (v.constant ? constants : inputs).push(v),
    (v) => nodes.push(v),
  );
  const index = new Map<LazyValue, number>();
  const parts: string[] = [];
  for (const v of inputs) {
    index.set(v, index.size);
    parts.push(`in${v.storage ? v.storage.dtype : ''}${shapeKey(v)}`);
  }
  for (const v of constants) {
    index.set(v, index.size);
    parts.push(`w${v.id}${v.storage ? v.storage.dtype : ''}${shapeKey(v)}`);
  }
  for (const v of nodes) {
    index.set(v, index.size);
    const args = v.inputs.map((u) => (u ? index.get(u)! : '-')).join(',');
    parts.push(`${v.op}${v.fullPrecision ? '!' : ''}${JSON.stringify(v.attrs)}(${args})${shapeKey(v)}`);
  }
  parts.push(`out(${outputs.map((o) => index.get(o)!).join(',')})`);
  return { nodes, inputs, constants, outputs: [...outputs], key: parts.join(';'), label };
}
