import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as C from '@sdxs/core';
import { expectParity, forEachBackend, PARITY_BACKENDS, reducedPrecision } from '@sdxs/core/testing';
import { Qwen35ForCausalLM } from '../src/index.js';
import { MODEL_CASES, caseDir, errorLog, floats, haveCase, skipWithoutCase, readCase, readReference, rows, tolerance, type Reference } from './qwen-fixtures.js';

afterAll(() => {
  if (errorLog.length) console.log(`qwen35 parity (max abs error):\n${errorLog.join('\n')}`);
});

/**
 * float16 budget of every hidden state of the full forward. The penultimate state (what SDXS conditions on) is
 * held to the common 1e-2 below; the deeper states of these random 8-layer models amplify float16's rounding
 * (float16 weights alone, computed in float32, already give 5.5e-3 at the last layer of qwen35-small-untied;
 * float16 compute gives 1.1e-2 there, 9.7e-3 at the penultimate).
 */
const QWEN_ALL_LAYERS_HALF_BUDGET = 2e-2;
/**
 * int8 products through every layer: relative L2 error grows by 1.5–2% a layer on these tiny random models
 * (measured: 1.5–2.2e-2 after one layer, 5.9–6.1e-2 at hidden_states[-2] of 4–8 layers, logits 5.0–6.7e-2).
 */
const QWEN_ALL_LAYERS_INT8_BUDGET = 1e-1;

forEachBackend((backend) => {
  for (const name of MODEL_CASES) {
    describe.skipIf(skipWithoutCase(name))(name, () => {
      const cj = haveCase(name) ? readCase(name) : { checks: [] };
      let lm: Qwen35ForCausalLM;
      let ref: Reference;
      beforeAll(async () => {
        lm = await Qwen35ForCausalLM.fromPretrained(caseDir(name));
        ref = await readReference(name);
      });
      afterAll(() => lm?.dispose());

      for (const deltaRule of ['chunked', 'recurrent'] as const) {
        // The token-by-token prefill is a cross-check of the math (decode steps use it on every backend); on a
        // GPU it is thousands of tiny dispatches, minutes under CI's software Vulkan.
        const skipWhy = deltaRule === 'recurrent' && backend === 'tfjs-webgpu' ? 'recurrent prefill cross-check runs on the CPU backends only' : null;
        if (skipWhy) {
          it.skip(`every hidden state and the logits (${deltaRule} delta rule): ${skipWhy}`, () => {});
          continue;
        }
        it(`every hidden state and the logits (${deltaRule} delta rule)`, async () => {
          const ids = rows(ref, 'input_ids');
          const mask = rows(ref, 'attention_mask');
          const before = C.memory().numTensors;
          const out = lm.forward(ids, mask, { outputHiddenStates: true, deltaRule });
          const hs = out.hiddenStates!;
          expect(hs.length).toBe(lm.config.numHiddenLayers + 1);
          const tol = tolerance(cj, 'encoder_hidden_states');
          let worst = 0;
          for (let i = 0; i < hs.length; i++) {
            const r = expectParity((await hs[i]!.data()) as Float32Array, floats(ref, `hidden_states_${i}`), backend, tol.atol, tol.rtol, `hidden_states_${i}`, { float16: QWEN_ALL_LAYERS_HALF_BUDGET, int8: QWEN_ALL_LAYERS_INT8_BUDGET });
            worst = Math.max(worst, r.maxAbs);
          }
          const last = expectParity((await out.lastHiddenState.data()) as Float32Array, floats(ref, 'last_hidden_state'), backend, tol.atol, tol.rtol, 'last_hidden_state', { float16: QWEN_ALL_LAYERS_HALF_BUDGET, int8: QWEN_ALL_LAYERS_INT8_BUDGET });
          const lt = tolerance(cj, 'logits');
          const lg = expectParity((await out.logits.data()) as Float32Array, floats(ref, 'logits'), backend, lt.atol, lt.rtol, 'logits', { float16: QWEN_ALL_LAYERS_HALF_BUDGET, int8: QWEN_ALL_LAYERS_INT8_BUDGET });
          errorLog.push(`${backend} ${name} ${deltaRule}: hidden_states ${worst.toExponential(2)}, last_hidden_state ${last.maxAbs.toExponential(2)}, logits ${lg.maxAbs.toExponential(2)}`);
          C.dispose(out);
          expect(C.memory().numTensors).toBe(before);
        });
      }

      it('penultimate-only forward equals hidden_states[-2]', async () => {
        const ids = rows(ref, 'input_ids');
        const mask = rows(ref, 'attention_mask');
        const before = C.memory().numTensors;
        const pen = lm.model.penultimateHiddenState(ids, mask);
        const L = lm.config.numHiddenLayers;
        const tol = tolerance(cj, 'encoder_hidden_states');
        expectParity((await pen.data()) as Float32Array, floats(ref, `hidden_states_${L - 1}`), backend, tol.atol, tol.rtol, 'penultimate', { int8: QWEN_ALL_LAYERS_INT8_BUDGET });
        pen.dispose();
        expect(C.memory().numTensors).toBe(before);
      });

      it('greedy generation: ids and every step logits', async () => {
        const prompt = rows(ref, 'gen_prompt_ids')[0]!;
        const expected = rows(ref, 'gen_generated_ids')[0]!;
        const tol = tolerance(cj, 'greedy_generation');
        const stepRef = floats(ref, 'gen_step_logits');
        const v = lm.config.vocabSize;
        const before = C.memory().numTensors;
        let worst = 0;
        const ids = await lm.generate(prompt, {
          maxNewTokens: expected.length,
          eosTokenIds: [],
          onLogits: async (logits, i) => {
            // int8: each decoding step reads the cache (and recurrent state) of every earlier int8 step, so the logits
            // drift with the step (measured: 5e-2 at step 0, 0.1 by step 6, 0.23 by step 10 on qwen35-small-untied)
            // while the greedy ids stay equal; the budget holds the first step, the ids are checked for all
            if (reducedPrecision(backend) === 'int8' && i > 0) return;
            const r = expectParity((await logits.data()) as Float32Array, stepRef.subarray(i * v, (i + 1) * v), backend, tol.atol, tol.rtol, `step ${i}`, { int8: QWEN_ALL_LAYERS_INT8_BUDGET });
            worst = Math.max(worst, r.maxAbs);
            if (i === 0) expectParity((await logits.data()) as Float32Array, floats(ref, 'gen_first_step_logits'), backend, tol.atol, tol.rtol, 'first step', { int8: QWEN_ALL_LAYERS_INT8_BUDGET });
          },
        });
        if (reducedPrecision(backend) === 'int8') {
          // the random tiny model's logits are nearly tied, and int8 noise flips later greedy choices (measured: 2 of
          // 12 ids on qwen35-small-untied): the first id, chosen from the budgeted first-step logits, must agree
          console.log(`[qwen parity] ${backend} ${name}: int8 generation compares the first id and step 0 only (${ids.filter((id, i) => id === expected[i]).length}/${expected.length} ids equal)`);
          expect(ids[0]).toBe(expected[0]);
        } else expect(ids).toEqual(expected);
        errorLog.push(`${backend} ${name} generation: ids equal, step logits ${worst.toExponential(2)}`);
        expect(C.memory().numTensors).toBe(before);
      });
    });
  }
}, { backends: PARITY_BACKENDS });
