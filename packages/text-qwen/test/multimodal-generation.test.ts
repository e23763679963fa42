import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as C from '@sdxs/core';
import { expectClose } from '@sdxs/core/testing';
import { Qwen35ForCausalLM, Qwen35Model, type RopeIndex } from '../src/index.js';
import { caseDir, skipWithoutCase, readReference, rows, type Reference } from './qwen-fixtures.js';

const CASE = 'qwen35-vision-tiny';

describe.skipIf(skipWithoutCase(CASE))('generation after an image prompt (cpu)', () => {
  let vlm: Qwen35Model;
  let lm: Qwen35ForCausalLM;
  let ref: Reference;
  beforeAll(async () => {
    await C.setBackend('cpu');
    vlm = await Qwen35Model.fromPretrained(caseDir(CASE));
    lm = await Qwen35ForCausalLM.fromPretrained(caseDir(CASE));
    ref = await readReference(CASE);
  });
  afterAll(() => {
    vlm?.dispose();
    lm?.dispose();
  });

  it('cached decoding with the rope delta gives the logits of a full multimodal forward over the longer sequence', async () => {
    const ids = rows(ref, 'input_ids')[0]!;
    const grid = rows(ref, 'image_grid_thw');
    const px = ref.floats.get('pixel_values')!;
    const pixelValues = C.tensor(px.data, px.shape);
    const positions: RopeIndex = vlm.ropeIndex([ids], grid);
    const embeds = C.tidy(() => vlm.mergeEmbeddings([ids], vlm.visual.forward(pixelValues, grid).imageEmbeds));
    const stepLogits: Float32Array[] = [];
    const out = await lm.generate(ids, {
      maxNewTokens: 3,
      eosTokenIds: [],
      multimodal: { embeds, positions, ropeDelta: positions.deltas[0]! },
      onLogits: async (l) => {
        stepLogits.push(Float32Array.from((await l.data()) as Float32Array));
      },
    });
    expect(out).toHaveLength(3);
    for (let k = 0; k < 3; k++) {
      const seq = [...ids, ...out.slice(0, k)];
      const full = vlm.forward({ inputIds: [seq], pixelValues, imageGridThw: grid });
      const last = C.sliceAxis(full.lastHiddenState, 1, seq.length - 1, seq.length);
      const logits = lm.logits(last);
      expectClose(stepLogits[k]!, (await logits.data()) as Float32Array, 1e-4, 1e-4, `step ${k}`);
      C.dispose([full, last, logits]);
    }
    C.dispose([embeds, pixelValues]);
  });
});
