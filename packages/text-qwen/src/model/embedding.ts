/**
 * Token embedding and the tied/untied output projection, with 16-bit storage handled on the host: a lookup
 * converts only the requested rows, and the projection converts the weight a block of rows at a time, so a
 * 248k-row table is never materialised in float32.
 */
import * as C from '@sdxs/core';

const isStorage = (t: C.Tensor): boolean => t.dtype === 'float16' || t.dtype === 'bfloat16';

/** Rows per block when projecting onto a 16-bit weight. */
const HEAD_BLOCK_ROWS = 16384;

export class Qwen35Embedding extends C.Module {
  readonly weight: C.Parameter;
  constructor(readonly numEmbeddings: number, readonly dim: number) {
    super();
    this.weight = new C.Parameter([numEmbeddings, dim]);
  }

  /** ids: int32 [B, S] (or host rows) → [B, S, D] float32. */
  forward(ids: C.Tensor | readonly (readonly number[])[]): C.Tensor {
    const w = this.weight.value;
    if (!isStorage(w)) {
      return C.tidy(() => C.gather(w, ids instanceof C.Tensor ? ids : idsTensor(ids, this.numEmbeddings), 0));
    }
    let flat: ArrayLike<number>;
    let shape: number[];
    if (ids instanceof C.Tensor) {
      flat = ids.dataSync();
      shape = [...ids.shape];
    } else {
      flat = ids.flat();
      shape = [ids.length, ids[0]?.length ?? 0];
    }
    for (let i = 0; i < flat.length; i++) {
      const id = flat[i]!;
      if (!(id >= 0 && id < this.numEmbeddings)) throw new C.InputError(`token id ${id} is outside the embedding table (${this.numEmbeddings} rows)`);
    }
    // a table still in its weights file gives the requested rows alone (the 248k-row table stays on disk)
    const rows = C.storageRows(w, flat, this.dim);
    return C.tidy(() => C.cast(C.fromData(rows, [...shape, this.dim], w.dtype), 'float32'));
  }
}

/** x [..., D] @ weight[V, D]ᵀ → [..., V], converting 16-bit weights block by block. */
export function projectOnto(x: C.Tensor, weight: C.Parameter): C.Tensor {
  const w = weight.value;
  if (!isStorage(w)) return C.linear(x, w);
  const [v, d] = w.shape as [number, number];
  const bits = C.storageBits(w);
  return C.tidy(() => {
    const parts: C.Tensor[] = [];
    for (let start = 0; start < v; start += HEAD_BLOCK_ROWS) {
      const end = Math.min(v, start + HEAD_BLOCK_ROWS);
      const block = C.cast(C.fromData(bits.subarray(start * d, end * d), [end - start, d], w.dtype), 'float32');
      parts.push(C.linear(x, block));
    }
    return parts.length === 1 ? parts[0]! : C.concat(parts, -1);
  });
}

/** Host rows of ids → int32 tensor [B, S]. */
export function idsTensor(ids: readonly (readonly number[])[], limit = Infinity): C.Tensor {
  const b = ids.length;
  const s = ids[0]?.length ?? 0;
  if (ids.some((r) => r.length !== s)) throw new C.InputError('inputIds rows must all have the same length');
  const flat = new Int32Array(b * s);
  ids.forEach((r, i) => r.forEach((id, j) => {
    if (!Number.isInteger(id) || id < 0 || id >= limit) throw new C.InputError(`token id ${id} is outside the embedding table (${limit} rows)`);
    flat[i * s + j] = id;
  }));
  return C.tensor(flat, [b, s], 'int32');
}
