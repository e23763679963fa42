import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as C from '@sdxs/core';
import { maxAbsDiff, lcgValues } from '@sdxs/core/testing';
import { Qwen35TextModel } from '../src/index.js';
import { caseDir, skipWithoutCase } from './qwen-fixtures.js';

const NAME = 'qwen35-tiny-tied';
const ids = [[3, 1, 4, 1, 5, 9, 2, 6]];

const values = (n: number, seed: number, amp = 0.3): Float32Array => lcgValues(n, seed, amp);

async function hidden(m: Qwen35TextModel): Promise<Float32Array> {
  const out = m.forward(ids);
  const h = (await out.lastHiddenState.data()) as Float32Array;
  C.dispose([out.lastHiddenState, ...(out.hiddenStates ?? [])]);
  return h;
}

describe.skipIf(skipWithoutCase(NAME))('Qwen35TextModel LoRA', () => {
  let base: Qwen35TextModel;
  let baseOut: Float32Array;
  beforeAll(async () => {
    await C.setBackend('cpu');
    base = await Qwen35TextModel.fromPretrained(caseDir(NAME));
    baseOut = await hidden(base);
  });
  afterAll(() => base.dispose());

  test.each(['peft', 'kohya'] as const)('%s text-encoder adapter equals an independently merged model', async (format) => {
    // every Linear of the last layer's MLP, plus the first layer's first projection
    const params = new Map(base.namedParameters());
    const n = base.config.numHiddenLayers;
    const first = [...params.keys()].find((k) => k.startsWith('layers.0.') && k.endsWith('proj.weight') && params.get(k)!.shape.length === 2)!.slice(0, -'.weight'.length);
    const paths = [first, ...['gate_proj', 'up_proj', 'down_proj'].map((p) => `layers.${n - 1}.mlp.${p}`)];
    const rank = 2;
    const alpha = 3;
    const tensors: C.SafetensorsTensorMap = {};
    const merged = await Qwen35TextModel.fromPretrained(caseDir(NAME));
    const mparams = new Map(merged.namedParameters());
    paths.forEach((p, i) => {
      const [out, inn] = params.get(`${p}.weight`)!.shape as [number, number];
      const down = values(rank * inn, 100 + i);
      const up = values(out * rank, 200 + i);
      if (format === 'peft') {
        tensors[`text_encoder.model.language_model.${p}.lora_A.weight`] = { dtype: 'F32', shape: [rank, inn], data: down };
        tensors[`text_encoder.model.language_model.${p}.lora_B.weight`] = { dtype: 'F32', shape: [out, rank], data: up };
        tensors[`text_encoder.model.language_model.${p}.alpha`] = { dtype: 'F32', shape: [], data: Float32Array.of(alpha) };
      } else {
        const k = `lora_te_model_${p.replace(/\./g, '_')}`;
        tensors[`${k}.lora_down.weight`] = { dtype: 'F32', shape: [rank, inn], data: down };
        tensors[`${k}.lora_up.weight`] = { dtype: 'F32', shape: [out, rank], data: up };
        tensors[`${k}.alpha`] = { dtype: 'F32', shape: [], data: Float32Array.of(alpha) };
      }
      const w = Float64Array.from(mparams.get(`${p}.weight`)!.value.dataSync() as Float32Array);
      for (let o = 0; o < out; o++) for (let j = 0; j < inn; j++) for (let r = 0; r < rank; r++) w[o * inn + j]! += (alpha / rank) * up[o * rank + r]! * down[r * inn + j]!;
      mparams.get(`${p}.weight`)!.set(C.tensor(Float32Array.from(w), [out, inn]));
    });
    const file = await C.loadSafetensors(C.serializeSafetensors(tensors), { name: `${format}.safetensors` });
    const model = await Qwen35TextModel.fromPretrained(caseDir(NAME));
    const report = await model.loadLoraWeights({ file, config: null }, { adapterName: format });
    expect(report.layers).toBe(paths.length);
    const got = await hidden(model);
    const want = await hidden(merged);
    console.log(`${format}: max |merged - base| ${maxAbsDiff(want, baseOut).toExponential(3)}, max |lora - merged| ${maxAbsDiff(got, want).toExponential(3)}`);
    expect(maxAbsDiff(want, baseOut)).toBeGreaterThan(1e-3);
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-4);
    model.setAdapters(format, 0);
    expect(maxAbsDiff(await hidden(model), baseOut)).toBe(0);
    model.setAdapters(format, 1);
    await model.fuseLora();
    expect(maxAbsDiff(await hidden(model), want)).toBeLessThan(1e-4);
    model.unfuseLora();
    model.unloadLoraWeights();
    expect(maxAbsDiff(await hidden(model), baseOut)).toBe(0);
    model.dispose();
    merged.dispose();
  });
});
