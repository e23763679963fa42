import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as C from '@sdxs/core';
import { expectClose, forEachBackend, skipUnless } from '@sdxs/core/testing';
import { Qwen35Model, Qwen35VisionModel } from '../src/index.js';
import { caseDir, floats, skipWithoutCase, readReference, rows, type Reference } from './qwen-fixtures.js';

const CASE = 'qwen35-vision-tiny';
/** The bound for the model given the reference's pixel_values. */
const ATOL = 1e-4;
const log: string[] = [];
afterAll(() => {
  if (log.length) console.log(`qwen35 vision parity (max abs error):\n${log.join('\n')}`);
});

const gridOf = (ref: Reference): number[][] => rows(ref, 'image_grid_thw');
const pixels = (ref: Reference): C.Tensor => {
  const t = ref.floats.get('pixel_values')!;
  return C.tensor(t.data, t.shape);
};

forEachBackend((backend) => {
  describe.skipIf(skipWithoutCase(CASE))(CASE, () => {
    let model: Qwen35Model;
    let ref: Reference;
    beforeAll(async () => {
      model = await Qwen35Model.fromPretrained(caseDir(CASE));
      ref = await readReference(CASE);
    });
    afterAll(() => model?.dispose());

    it('the vision tower reproduces vision_last_hidden_state and image_embeds from pixel_values', async () => {
      const before = C.memory().numTensors;
      const px = pixels(ref);
      const out = model.visual.forward(px, gridOf(ref));
      const last = expectClose((await out.lastHiddenState.data()) as Float32Array, floats(ref, 'vision_last_hidden_state'), ATOL, 0, 'vision_last_hidden_state');
      const emb = expectClose((await out.imageEmbeds.data()) as Float32Array, floats(ref, 'image_embeds'), ATOL, 0, 'image_embeds');
      log.push(`${backend}: vision_last_hidden_state ${last.maxAbs.toExponential(2)}, image_embeds ${emb.maxAbs.toExponential(2)}`);
      C.dispose([out, px]);
      expect(C.memory().numTensors).toBe(before);
    });

    it('multimodalPositionIds equals the reference position_ids', async () => {
      const ids = rows(ref, 'input_ids');
      const pos = model.multimodalPositionIds(ids, gridOf(ref));
      expect(pos.shape).toEqual(ref.ints.get('position_ids')!.shape);
      expect(Array.from((await pos.data()) as Int32Array)).toEqual(ref.ints.get('position_ids')!.data);
      pos.dispose();
    });

    it('penultimateHiddenState reproduces hidden_states[-2] of the whole model', async () => {
      const before = C.memory().numTensors;
      const px = pixels(ref);
      const h = model.penultimateHiddenState({ inputIds: rows(ref, 'input_ids'), pixelValues: px, imageGridThw: gridOf(ref) });
      const r = expectClose((await h.data()) as Float32Array, floats(ref, 'hidden_states_penultimate'), ATOL, 0, 'hidden_states_penultimate');
      log.push(`${backend}: hidden_states_penultimate ${r.maxAbs.toExponential(2)}`);
      C.dispose([h, px]);
      expect(C.memory().numTensors).toBe(before);
    });

    it('the full forward reproduces last_hidden_state', async () => {
      const px = pixels(ref);
      const out = model.forward({ inputIds: rows(ref, 'input_ids'), pixelValues: px, imageGridThw: gridOf(ref) });
      const r = expectClose((await out.lastHiddenState.data()) as Float32Array, floats(ref, 'last_hidden_state'), ATOL, 0, 'last_hidden_state');
      log.push(`${backend}: last_hidden_state ${r.maxAbs.toExponential(2)}`);
      C.dispose([out, px]);
    });

    // ids are read on the host for the rope index: a GPU backend cannot read a tensor synchronously
    it.skipIf(skipUnless(backend !== 'tfjs-webgpu', 'host ids on tfjs-webgpu: a GPU backend cannot read the ids synchronously for the rope index', { ciRequired: false }))('takes host pixel values and an int32 tensor of ids as well', async () => {
      const ids = rows(ref, 'input_ids');
      const idTensor = C.tensor(Int32Array.from(ids.flat()), [1, ids[0]!.length], 'int32');
      const h = model.penultimateHiddenState({ inputIds: idTensor, pixelValues: floats(ref, 'pixel_values'), imageGridThw: gridOf(ref) });
      expectClose((await h.data()) as Float32Array, floats(ref, 'hidden_states_penultimate'), ATOL, 0, 'hidden_states_penultimate (host inputs)');
      C.dispose([h, idTensor]);
    });

    it('Qwen35VisionModel.fromPretrained reads model.visual.* alone', async () => {
      const v = await Qwen35VisionModel.fromPretrained(caseDir(CASE));
      expect(v.namedParameters().map(([k]) => k)).toContain('patch_embed.proj.weight');
      expect(v.config.depth).toBe(v.blocks.length);
      v.dispose();
    });
  });
});
