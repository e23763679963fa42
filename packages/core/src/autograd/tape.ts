import { addOpRecorder, keep } from '../engine.js';
import { add } from '../ops/elementwise.js';
import { reshape } from '../ops/shape.js';
import type { OpAttrs, OpName } from '../backend.js';
import { ShapeError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { VJPS } from './vjp.js';

/** Gradient accumulation, visible to custom nodes (gradient checkpointing adds parameter grads through it). */
export interface BackwardContext {
  accumulate(t: Tensor, g: Tensor): void;
  readonly tape: Tape;
}

export interface GradNode {
  readonly inputs: readonly (Tensor | null)[];
  readonly outputs: readonly Tensor[];
  /** Gradients of the inputs from the gradients of the outputs (null where an output got none). */
  readonly vjp: (dys: readonly (Tensor | null)[], ctx: BackwardContext) => (Tensor | null)[];
}

export class Tape {
  readonly nodes: GradNode[] = [];
  readonly watched: Set<Tensor>;
  readonly saved: Tensor[] = [];
  paused = false;
  constructor(watched: Iterable<Tensor>) {
    this.watched = new Set(watched);
  }
  /** Whether gradients flow into t on this tape. */
  tracks(t: Tensor | null): t is Tensor {
    return t !== null && (this.watched.has(t) || (t.gradNode !== null && this.owns.has(t.gradNode)));
  }
  readonly owns = new Set<GradNode>();
  save(t: Tensor): void {
    t.tapeRefs++;
    this.saved.push(t);
  }
  record(node: GradNode): void {
    this.nodes.push(node);
    this.owns.add(node);
    for (const t of node.inputs) if (t) this.save(t);
    for (const t of node.outputs) {
      this.save(t);
      t.gradNode = node;
    }
  }
  release(): void {
    for (const n of this.nodes) for (const t of n.outputs) if (t.gradNode === n) t.gradNode = null;
    const saved = this.saved.splice(0);
    for (const t of saved) t.releaseTapeRef();
    this.nodes.length = 0;
    this.owns.clear();
  }
}

const tapes: Tape[] = [];
export const activeTape = (): Tape | null => tapes[tapes.length - 1] ?? null;

function recordOp<K extends OpName>(op: K, inputs: readonly (Tensor | null)[], attrs: OpAttrs[K], out: Tensor): void {
  const tape = activeTape();
  if (!tape || tape.paused || !inputs.some((t) => tape.tracks(t))) return;
  const rule = VJPS[op] as ((dy: Tensor, inputs: readonly (Tensor | null)[], attrs: OpAttrs[K], out: Tensor) => (Tensor | null)[]) | null;
  if (rule === null) return;
  tape.record({
    inputs,
    outputs: [out],
    vjp: ([dy]) => (dy ? rule(dy, inputs, attrs, out) : inputs.map(() => null)),
  });
}
addOpRecorder(recordOp);

/** Run fn with a tape watching `watched`; the caller must call tape.release(). */
export function withTape<T>(watched: Iterable<Tensor>, fn: (tape: Tape) => T): { tape: Tape; result: T } {
  const tape = new Tape(watched);
  tapes.push(tape);
  try {
    return { tape, result: fn(tape) };
  } finally {
    tapes.pop();
  }
}

/** Reverse pass over a tape: gradients of `roots` (with seeds `seeds`) w.r.t. `wrt`. */
export function backward(tape: Tape, roots: readonly Tensor[], seeds: readonly Tensor[], wrt: readonly Tensor[], outer?: BackwardContext): (Tensor | null)[] {
  const grads = new Map<Tensor, Tensor>();
  const ctx: BackwardContext = {
    tape,
    accumulate(t, g) {
      const prev = grads.get(t);
      if (!prev) {
        grads.set(t, g);
        return;
      }
      grads.set(t, addInto(prev, g));
    },
  };
  roots.forEach((r, i) => ctx.accumulate(r, cloneT(seeds[i]!)));
  tape.paused = true;
  const wrtSet = new Set(wrt);
  try {
    for (let i = tape.nodes.length - 1; i >= 0; i--) {
      const node = tape.nodes[i]!;
      const dys = node.outputs.map((o) => grads.get(o) ?? null);
      if (dys.every((d) => d === null)) continue;
      const gin = node.vjp(dys, ctx);
      const seen = new Set<Tensor>();
      node.inputs.forEach((t, j) => {
        let g = gin[j];
        if (!g) return;
        // a rule may pass dy (or one tensor to two inputs) straight through: give each slot its own tensor
        if (seen.has(g) || dys.includes(g)) g = cloneT(g);
        seen.add(g);
        if (t && tape.tracks(t)) {
          if (!shapesMatch(g, t)) throw new ShapeError(`internal: gradient shape [${g.shape}] for input [${t.shape}]`);
          ctx.accumulate(t, g);
        } else g.dispose();
      });
      for (const [k, o] of node.outputs.entries()) {
        if (!wrtSet.has(o) && dys[k]) {
          grads.delete(o);
          dys[k]!.dispose();
        }
      }
    }
  } finally {
    tape.paused = false;
  }
  const out = wrt.map((t) => grads.get(t) ?? null);
  for (const [t, g] of grads) {
    if (wrtSet.has(t)) continue;
    if (outer && tape.watched.has(t)) outer.accumulate(t, keep(g));
    else g.dispose();
  }
  return out;
}

function shapesMatch(a: Tensor, b: Tensor): boolean {
  return a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
}

/**
 * Sum two gradients. The sum is owned by the gradient map, not by an enclosing tidy: a checkpoint's
 * backward accumulates parameter grads into the outer map from inside its own tidy scope.
 */
function addInto(a: Tensor, b: Tensor): Tensor {
  const s = keep(add(a, b));
  a.dispose();
  b.dispose();
  return s;
}
const cloneT = (a: Tensor): Tensor => reshape(a, a.shape);
