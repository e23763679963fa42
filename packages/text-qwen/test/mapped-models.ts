/**
 * The fixture models have a 320-row vocabulary while the fixture tokenizer is Qwen3's (151k ids): these
 * wrappers fold ids into the table (id % vocab) so the SDXS encoder and refiner run end to end on them.
 */
import * as C from '@sdxs/core';
import { Qwen35ForCausalLM, Qwen35TextModel, type AttentionMaskInput, type CausalLMForwardOptions, type CausalLMOutput, type InputIds, type TextForwardOptions, type TextModelOutput } from '../src/index.js';
import { readQwenConfig } from '../src/model/load.js';

export function foldIds(ids: InputIds, vocab: number): InputIds {
  if (ids instanceof C.Tensor) throw new Error('fold host ids only');
  return ids.map((r) => r.map((id) => id % vocab));
}

export class FoldedTextModel extends Qwen35TextModel {
  override forward(ids: InputIds, mask?: AttentionMaskInput | null, opts?: TextForwardOptions): TextModelOutput {
    return super.forward(foldIds(ids, this.config.vocabSize), mask, opts);
  }
  static async load(dir: string): Promise<FoldedTextModel> {
    const m = new FoldedTextModel(await readQwenConfig(dir));
    const file = await C.openCheckpoint(dir, 'model');
    await m.loadFrom([file]);
    await file.close();
    return m;
  }
}

export class FoldedCausalLM extends Qwen35ForCausalLM {
  override forward(ids: InputIds, mask?: AttentionMaskInput | null, opts?: CausalLMForwardOptions): CausalLMOutput {
    return super.forward(foldIds(ids, this.config.vocabSize), mask, opts);
  }
  static async load(dir: string): Promise<FoldedCausalLM> {
    const m = new FoldedCausalLM(await readQwenConfig(dir));
    const file = await C.openCheckpoint(dir, 'model');
    await m.loadFrom([file]);
    await file.close();
    return m;
  }
}
