/**
 * The token embedding of a 16-bit checkpoint on a graph backend: the table stays in its file and a lookup reads
 * the looked-up rows alone, giving the same rows as the table in memory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import * as C from '@sdxs/core';
import { forEachBackend } from '@sdxs/core/testing';
import { Qwen35Embedding } from '../src/model/embedding.js';

class Holder extends C.Module {
  readonly embed_tokens = new Qwen35Embedding(50, 8);
}

const dir = mkdtempSync(path.join(tmpdir(), 'sdxs-embedding-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

forEachBackend(
  (name) => {
    test('an embedding lookup reads its rows from the weights file, leaving the table there', async () => {
      const table = new C.RandomGenerator(3).fillNormal(new Float32Array(50 * 8));
      const bits = C.f32ToF16(table);
      const file = path.join(dir, `${name.replace(/[^a-z0-9]/gi, '_')}.safetensors`);
      await C.saveSafetensors(file, { 'embed_tokens.weight': { dtype: 'F16', shape: [50, 8], data: bits } });
      const m = new Holder();
      const st = await C.loadSafetensors(file);
      await C.loadWeights(m, st);
      await st.close();
      const host = m.embed_tokens.weight.value.handle as { resident: boolean };
      expect(host.resident).toBe(false);
      const ids = [[7, 0, 49], [7, 7, 1]];
      const y = m.embed_tokens.forward(ids);
      const got = (await y.data()) as Float32Array;
      const want = C.f16ToF32(Uint16Array.from(ids.flat().flatMap((id) => Array.from(bits.subarray(id * 8, id * 8 + 8)))));
      expect(Array.from(got)).toEqual(Array.from(want));
      expect(host.resident).toBe(false);
      y.dispose();
      m.dispose();
    });
  },
  { backends: ['ort-cpu'] },
);
