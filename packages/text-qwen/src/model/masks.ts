/** Attention masks: the 2-D padding mask as a float tensor, and the additive causal+padding mask of full attention. */
import * as C from '@sdxs/core';

/** A 0/1 padding mask: host rows or a tensor [B, S] (any compute dtype). */
export type AttentionMaskInput = readonly (readonly number[])[] | C.Tensor;

/** Large negative additive value for disallowed entries (finite, so scale/offset arithmetic stays finite). */
export const MASK_MIN = -1e30;

/** The mask as float32 [B, S]; null when absent. `allOnes` is true when it is known to mask nothing. */
export function maskTensor(mask: AttentionMaskInput | null | undefined, batch: number, length: number): { mask: C.Tensor | null; allOnes: boolean } {
  if (mask === null || mask === undefined) return { mask: null, allOnes: true };
  if (mask instanceof C.Tensor) {
    if (mask.rank !== 2 || mask.shape[0] !== batch || mask.shape[1] !== length) {
      throw new C.ShapeError(`attentionMask ${JSON.stringify(mask.shape)} must be [${batch}, ${length}]`);
    }
    return { mask: mask.dtype === 'float32' ? mask : C.cast(mask, 'float32'), allOnes: false };
  }
  if (mask.length !== batch || mask.some((r) => r.length !== length)) {
    throw new C.InputError(`attentionMask must have ${batch} rows of ${length} entries`);
  }
  const flat = new Float32Array(batch * length);
  let allOnes = true;
  mask.forEach((row, b) =>
    row.forEach((v, j) => {
      if (v !== 0 && v !== 1) throw new C.InputError(`attentionMask entries must be 0 or 1, got ${v}`);
      flat[b * length + j] = v;
      if (v !== 1) allOnes = false;
    }),
  );
  return { mask: C.tensor(flat, [batch, length]), allOnes };
}

/**
 * Additive mask for grouped-query attention computed as [B, Hkv, rep*Sq, Sk] (query heads of one kv group
 * stacked along the query axis): entry (i, j) is 0 when key j <= past + i and key j is not padding, else MASK_MIN.
 * Returns null when nothing is masked (a single query over an unpadded cache).
 */
export function attentionBias(keyMask: C.Tensor | null, batch: number, sq: number, sk: number, rep: number, pastLength?: number): C.Tensor | null {
  // sk > past + sq for a fixed-capacity cache: the positions beyond are masked like future ones
  const past = pastLength ?? sk - sq;
  if (keyMask === null && sq === 1 && past + sq === sk) return null;
  const causal = new Float32Array(sq * sk);
  for (let i = 0; i < sq; i++) for (let j = 0; j < sk; j++) causal[i * sk + j] = j <= past + i ? 1 : 0;
  let allowed = C.tensor(causal, [1, 1, sq, sk]);
  if (keyMask !== null) allowed = C.mul(allowed, C.reshape(keyMask, [batch, 1, 1, sk]));
  const bias = C.mul(C.sub(allowed, 1), -MASK_MIN);
  const b = bias.shape[0]!;
  if (rep === 1) return bias;
  return C.reshape(C.repeatAxes(C.reshape(bias, [b, 1, 1, sq * sk]), [1, 1, rep, 1]), [b, 1, rep * sq, sk]);
}
