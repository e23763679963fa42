/**
 * Compares this project with an extra case written by tools/qwen-vision-case.py (max abs errors printed).
 *
 *   node --conditions=sdxs-source --import tsx tools/check-qwen-vision-case.ts <case-dir> [backend]
 */
import sharp from 'sharp';
import * as C from '../packages/core/src/index.js';
import { Qwen35ImageProcessor, Qwen35Model } from '../packages/text-qwen/src/index.js';
const dir = process.argv[2]!;
await C.setBackend(process.argv[3] ?? 'cpu');
const io = await C.loadSafetensors(`${dir}/io.safetensors`);
const get = async (k: string): Promise<{ d: ArrayLike<number>; s: number[] }> => ({ d: Array.from((await io.readTyped(k)) as ArrayLike<number | bigint>, Number), s: [...io.info(k).shape] });
const pv = await get('pixel_values');
const grid = await get('image_grid_thw');
const ids = await get('input_ids');
const grids = Array.from({ length: grid.s[0]! }, (_, i) => [grid.d[i * 3]!, grid.d[i * 3 + 1]!, grid.d[i * 3 + 2]!]);
const proc = await Qwen35ImageProcessor.fromPretrained(dir);
let off = 0;
let pmax = 0;
for (let i = 0; i < grids.length; i++) {
  const { data, info } = await sharp(`${dir}/img${i}.png`).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const r = proc.preprocess({ data: new Uint8Array(data), width: info.width, height: info.height });
  console.log('grid', JSON.stringify(r.imageGridThw), 'ref', JSON.stringify(grids[i]));
  const got = (await r.pixelValues.data()) as Float32Array;
  for (let j = 0; j < got.length; j++) pmax = Math.max(pmax, Math.abs(got[j]! - (pv.d[off + j] as number)));
  off += got.length;
}
console.log('preprocess max abs', pmax, 'covered', off, 'of', pv.d.length);
const m = await Qwen35Model.fromPretrained(dir);
const [B, S] = ids.s as [number, number];
const rows = Array.from({ length: B }, (_, b) => Array.from(ids.d).slice(b * S, (b + 1) * S));
const hasMask = io.names().includes('attention_mask');
const mask = hasMask ? await get('attention_mask') : null;
const maskRows = mask ? Array.from({ length: B }, (_, b) => Array.from(mask.d).slice(b * S, (b + 1) * S)) : undefined;
const px = C.tensor(Float32Array.from(pv.d), pv.s);
const maxErr = async (t: C.Tensor, k: string): Promise<number> => {
  const ref = await get(k);
  const a = (await t.data()) as Float32Array;
  let e = a.length === ref.d.length ? 0 : Infinity;
  for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs(a[i]! - (ref.d[i] as number)));
  return e;
};
const v = m.visual.forward(px, grids);
console.log('vision_last_hidden_state', await maxErr(v.lastHiddenState, 'vision_last_hidden_state'), 'image_embeds', await maxErr(v.imageEmbeds, 'image_embeds'));
const pos = m.multimodalPositionIds(rows, grids, maskRows);
console.log('position_ids max diff', await maxErr(pos, 'position_ids'));
const h = m.penultimateHiddenState({ inputIds: rows, pixelValues: px, imageGridThw: grids, attentionMask: maskRows });
if (maskRows) {
  const ref = await get('hidden_states_penultimate');
  const a = (await h.data()) as Float32Array;
  const D = a.length / (B * S);
  let e = 0;
  for (let b = 0; b < B; b++) for (let s2 = 0; s2 < S; s2++) if (maskRows[b]![s2]) for (let d = 0; d < D; d++) e = Math.max(e, Math.abs(a[(b * S + s2) * D + d]! - (ref.d[(b * S + s2) * D + d] as number)));
  console.log('hidden_states_penultimate (real tokens)', e);
}
console.log('hidden_states_penultimate', await maxErr(h, 'hidden_states_penultimate'));
