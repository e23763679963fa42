/**
 * Tensor trees: tensors nested in arrays and plain objects (a block's inputs `[x, { temb, context }]`, its
 * outputs `{ hidden, states: [...] }`), flattened to a list of tensors and rebuilt with other tensors in
 * their places. Leaves that are not tensors (null, undefined, numbers, strings, booleans) are kept as they are.
 */
import { InputError } from '../errors.js';
import { Tensor } from '../tensor.js';

export type TensorTreeLeaf = Tensor | number | string | boolean | null | undefined;
export type TensorTree = TensorTreeLeaf | readonly TensorTree[] | { readonly [key: string]: TensorTree };

const isPlainObject = (v: object): boolean => {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
};

/** The tensors of a tree, depth first, array entries in order and object entries in key order. */
export function flattenTensors(tree: TensorTree, out: Tensor[] = []): Tensor[] {
  if (tree instanceof Tensor) out.push(tree);
  else if (Array.isArray(tree)) for (const t of tree as readonly TensorTree[]) flattenTensors(t, out);
  else if (typeof tree === 'object' && tree !== null) {
    if (!isPlainObject(tree)) throw new InputError(`a tensor tree holds tensors, arrays and plain objects; got a ${tree.constructor?.name ?? 'non-plain object'}`);
    for (const k of Object.keys(tree)) flattenTensors((tree as { readonly [key: string]: TensorTree })[k], out);
  }
  return out;
}

/** `tree` with its tensors replaced, in flattenTensors order, by `tensors`. */
export function rebuildTensors<T extends TensorTree>(tree: T, tensors: readonly Tensor[]): T {
  let i = 0;
  const walk = (t: TensorTree): TensorTree => {
    if (t instanceof Tensor) return tensors[i++]!;
    if (Array.isArray(t)) return (t as readonly TensorTree[]).map(walk);
    if (typeof t === 'object' && t !== null) return Object.fromEntries(Object.keys(t).map((k) => [k, walk((t as { readonly [key: string]: TensorTree })[k])]));
    return t;
  };
  const out = walk(tree) as T;
  if (i !== tensors.length) throw new InputError(`rebuildTensors: the tree holds ${i} tensors, ${tensors.length} were given`);
  return out;
}
