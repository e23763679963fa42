import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as C from '@sdxs/core';
import { UNet2DConditionModel } from '@sdxs/unet';
import { diffusersCase, host, maxAbsDiff, lcgValues, skipUnlessBackend } from '@sdxs/core/testing';

const dir = diffusersCase('unet-tiny');
let tmp: string;
let base: UNet2DConditionModel;

const values = (n: number, seed: number, amp = 0.2): Float32Array => lcgValues(n, seed, amp);

interface Target {
  path: string;
  /** weight shape [out, in, (kh, kw)] */
  shape: number[];
  rank: number;
  alpha: number;
  down: Float32Array;
  up: Float32Array;
}

const TARGETS = [
  'down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q', // Linear without bias
  'down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k', // cross-attention (24 → 8)
  'mid_block.attentions.0.transformer_blocks.0.ff.net.2', // Linear with bias
  'up_blocks.1.attentions.0.proj_in', // 1x1 Conv2d
  'down_blocks.1.resnets.0.conv1', // 3x3 Conv2d
  'time_embedding.linear_1',
];

function targets(unet: UNet2DConditionModel, seed: number): Target[] {
  const params = new Map(unet.namedParameters());
  return TARGETS.map((p, i) => {
    const shape = [...params.get(`${p}.weight`)!.shape];
    const rank = 2 + (i % 3);
    const inner = shape.slice(1).reduce((a, b) => a * b, 1);
    return { path: p, shape, rank, alpha: rank * (1 + i) * 0.5, down: values(rank * inner, seed + i * 7), up: values(shape[0]! * rank, seed + i * 13 + 1) };
  });
}

const downShape = (t: Target): number[] => (t.shape.length === 4 ? [t.rank, t.shape[1]!, t.shape[2]!, t.shape[3]!] : [t.rank, t.shape[1]!]);
const upShape = (t: Target): number[] => (t.shape.length === 4 ? [t.shape[0]!, t.rank, 1, 1] : [t.shape[0]!, t.rank]);

/** diffusers/PEFT file: `unet.<module>.lora_A.weight` / `lora_B.weight`, alpha in the metadata config (one lora_alpha + alpha_pattern). */
async function writePeft(ts: Target[], file: string): Promise<void> {
  const tensors: C.SafetensorsTensorMap = {};
  for (const t of ts) {
    tensors[`unet.${t.path}.lora_A.weight`] = { dtype: 'F32', shape: downShape(t), data: t.down };
    tensors[`unet.${t.path}.lora_B.weight`] = { dtype: 'F32', shape: upShape(t), data: t.up };
  }
  const alphaPattern = Object.fromEntries(ts.map((t) => [t.path, t.alpha]));
  await C.saveSafetensors(file, tensors, { lora_adapter_metadata: JSON.stringify({ 'unet.r': 4, 'unet.lora_alpha': 4, 'unet.alpha_pattern': alphaPattern }) });
}

/** kohya file: `lora_unet_<module_with_underscores>.lora_down.weight` / `.lora_up.weight` / `.alpha`; 1x1 convs stored 2-D. */
async function writeKohya(ts: Target[], file: string): Promise<void> {
  const tensors: C.SafetensorsTensorMap = {};
  for (const t of ts) {
    const k = `lora_unet_${t.path.replace(/\./g, '_')}`;
    const oneByOne = t.shape.length === 4 && t.shape[2] === 1 && t.shape[3] === 1;
    tensors[`${k}.lora_down.weight`] = { dtype: 'F32', shape: oneByOne ? [t.rank, t.shape[1]!] : downShape(t), data: t.down };
    tensors[`${k}.lora_up.weight`] = { dtype: 'F32', shape: oneByOne ? [t.shape[0]!, t.rank] : upShape(t), data: t.up };
    tensors[`${k}.alpha`] = { dtype: 'F32', shape: [], data: Float32Array.of(t.alpha) };
  }
  await C.saveSafetensors(file, tensors);
}

/** A fresh UNet whose target weights are W + m · (alpha / r) · B A, merged here in float64 loops. */
async function mergedUnet(ts: Target[], m: number): Promise<UNet2DConditionModel> {
  const unet = await UNet2DConditionModel.fromPretrained(dir);
  const params = new Map(unet.namedParameters());
  for (const t of ts) {
    const p = params.get(`${t.path}.weight`)!;
    const w = Float64Array.from(await host(p.value));
    const out = t.shape[0]!;
    const inner = w.length / out;
    const s = (m * t.alpha) / t.rank;
    for (let o = 0; o < out; o++) {
      for (let j = 0; j < inner; j++) {
        let acc = 0;
        for (let r = 0; r < t.rank; r++) acc += t.up[o * t.rank + r]! * t.down[r * inner + j]!;
        w[o * inner + j]! += s * acc;
      }
    }
    p.set(C.tensor(Float32Array.from(w), t.shape));
  }
  return unet;
}

const inputs = (): [C.Tensor, C.Tensor, C.Tensor] => [C.randomNormal([2, 32, 8, 8], { seed: 3 }), C.tensor([400, 700]), C.randomNormal([2, 5, 24], { seed: 4 })];

async function run(unet: UNet2DConditionModel): Promise<Float32Array> {
  const [x, t, e] = inputs();
  const y = unet.forward(x, t, e);
  const out = await host(y);
  C.dispose([x, t, e, y]);
  return out;
}

async function weightBits(unet: UNet2DConditionModel): Promise<Map<string, number[]>> {
  const m = new Map<string, number[]>();
  for (const [k, p] of unet.namedParameters()) {
    const v = p.value;
    const d = v.dtype === 'float32' ? new Uint32Array(((await v.data()) as Float32Array).slice().buffer) : await v.data();
    m.set(k, Array.from(d));
  }
  return m;
}

let baseOut: Float32Array;
beforeAll(async () => {
  await C.setBackend('cpu');
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'sdxs-lora-'));
  base = await UNet2DConditionModel.fromPretrained(dir);
  baseOut = await run(base);
});
afterAll(async () => {
  base.dispose();
  await fs.rm(tmp, { recursive: true, force: true });
});

describe('UNet LoRA', () => {
  test.each(['peft', 'kohya'] as const)('%s adapter (unfused) equals the independently merged UNet', async (format) => {
    const ts = targets(base, format === 'peft' ? 11 : 29);
    const file = path.join(tmp, `${format}.safetensors`);
    await (format === 'peft' ? writePeft(ts, file) : writeKohya(ts, file));
    const unet = await UNet2DConditionModel.fromPretrained(dir);
    const report = await unet.loadLoraWeights(file, { adapterName: format });
    expect(report.layers).toBe(TARGETS.length);
    const merged = await mergedUnet(ts, 1);
    const got = await run(unet);
    const want = await run(merged);
    const change = maxAbsDiff(want, baseOut);
    const err = maxAbsDiff(got, want);
    console.log(`${format}: max |merged - base| ${change.toExponential(3)}, max |lora - merged| ${err.toExponential(3)}`);
    expect(change).toBeGreaterThan(1e-2); // the adapter matters
    expect(err).toBeLessThan(2e-5);

    // weight 0.5 equals a merge at half strength
    unet.setAdapters(format, 0.5);
    const half = await mergedUnet(ts, 0.5);
    expect(maxAbsDiff(await run(unet), await run(half))).toBeLessThan(2e-5);

    // weight 0 is the base model, exactly
    unet.setAdapters(format, 0);
    expect(maxAbsDiff(await run(unet), baseOut)).toBe(0);
    for (const u of [unet, merged, half]) u.dispose();
  });

  test('fuse matches unfused and unfuse restores the weights bit for bit (float32 and float16 bases)', async () => {
    const ts = targets(base, 5);
    const file = path.join(tmp, 'fuse.safetensors');
    await writePeft(ts, file);
    for (const dtype of ['float32', 'float16'] as const) {
      const unet = await UNet2DConditionModel.fromPretrained(dir, { dtype });
      const before = await weightBits(unet);
      await unet.loadLoraWeights(file, { adapterName: 'a' });
      const unfused = await run(unet);
      await unet.fuseLora();
      for (const t of ts) expect(new Map(unet.namedParameters()).get(`${t.path}.weight`)!.value.dtype).toBe(dtype);
      const fused = await run(unet);
      const err = maxAbsDiff(fused, unfused);
      console.log(`${dtype} base: max |fused - unfused| ${err.toExponential(3)}`);
      expect(err).toBeLessThan(dtype === 'float32' ? 2e-5 : 5e-2);
      unet.unfuseLora();
      expect(await weightBits(unet)).toEqual(before);
      expect(maxAbsDiff(await run(unet), unfused)).toBe(0); // the adapter runs unfused again
      unet.unloadLoraWeights();
      expect(unet.loraAdapters).toEqual([]);
      if (dtype === 'float32') expect(maxAbsDiff(await run(unet), baseOut)).toBe(0);
      unet.dispose();
    }
  });

  test('fuseLora({ scale }) scales the merge; two adapters mix by setAdapters weights', async () => {
    const a = targets(base, 41);
    const b = targets(base, 43).slice(0, 3);
    await writePeft(a, path.join(tmp, 'a.safetensors'));
    await writeKohya(b, path.join(tmp, 'b.safetensors'));
    const unet = await UNet2DConditionModel.fromPretrained(dir);
    await unet.loadLoraWeights(path.join(tmp, 'a.safetensors'), { adapterName: 'a' });
    await unet.loadLoraWeights(path.join(tmp, 'b.safetensors'), { adapterName: 'b' });
    unet.setAdapters(['a', 'b'], [0.7, 0.4]);
    const mixed = await run(unet);
    await unet.fuseLora({ scale: 1 });
    expect(maxAbsDiff(await run(unet), mixed)).toBeLessThan(2e-5);
    unet.unfuseLora();
    unet.setAdapters('a');
    await unet.fuseLora({ scale: 0.25 });
    const merged = await mergedUnet(a, 0.25);
    expect(maxAbsDiff(await run(unet), await run(merged))).toBeLessThan(2e-5);
    merged.dispose();
    unet.dispose();
  });

  test('a folder with adapter_config.json (PEFT layout) takes alpha from the config', async () => {
    const ts = targets(base, 17).slice(0, 2);
    const folder = path.join(tmp, 'peft-folder');
    await fs.mkdir(folder);
    const tensors: C.SafetensorsTensorMap = {};
    for (const t of ts) {
      tensors[`base_model.model.${t.path}.lora_A.weight`] = { dtype: 'F32', shape: downShape(t), data: t.down };
      tensors[`base_model.model.${t.path}.lora_B.weight`] = { dtype: 'F32', shape: upShape(t), data: t.up };
    }
    await C.saveSafetensors(path.join(folder, 'adapter_model.safetensors'), tensors);
    await fs.writeFile(path.join(folder, 'adapter_config.json'), JSON.stringify({ r: 8, lora_alpha: 6 }));
    const unet = await UNet2DConditionModel.fromPretrained(dir);
    await unet.loadLoraWeights(folder);
    expect(unet.loraAdapters).toEqual(['default_0']);
    const merged = await mergedUnet(ts.map((t) => ({ ...t, alpha: 6 })), 1);
    expect(maxAbsDiff(await run(unet), await run(merged))).toBeLessThan(2e-5);
    merged.dispose();
    unet.dispose();
  });

  test('keys that fit no layer, DoRA and shape mismatches fail in one error, and nothing is attached', async () => {
    const ts = targets(base, 7).slice(0, 1);
    const t = ts[0]!;
    const file = path.join(tmp, 'bad.safetensors');
    await C.saveSafetensors(file, {
      [`unet.${t.path}.lora_A.weight`]: { dtype: 'F32', shape: downShape(t), data: t.down },
      [`unet.${t.path}.lora_B.weight`]: { dtype: 'F32', shape: upShape(t), data: t.up },
      'unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_v.lora_magnitude_vector': { dtype: 'F32', shape: [8], data: new Float32Array(8) },
      'unet.no_such_block.to_q.lora_A.weight': { dtype: 'F32', shape: [2, 8], data: new Float32Array(16) },
      'unet.conv_in.lora_A.weight': { dtype: 'F32', shape: [2, 32, 1, 1], data: new Float32Array(64) },
      'unet.conv_in.lora_B.weight': { dtype: 'F32', shape: [8, 2, 1, 1], data: new Float32Array(16) },
      'text_encoder.layers.0.mlp.up_proj.lora_A.weight': { dtype: 'F32', shape: [2, 4], data: new Float32Array(8) },
    });
    const unet = await UNet2DConditionModel.fromPretrained(dir);
    const err = await unet.loadLoraWeights(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(C.CheckpointError);
    const msg = (err as Error).message;
    console.log(msg);
    expect(msg).toContain('bad.safetensors');
    expect(msg).toContain('lora_magnitude_vector');
    expect(msg).toContain('DoRA');
    expect(msg).toContain('unet.no_such_block.to_q.lora_A.weight');
    expect(msg).toContain('conv_in: down [2, 32, 1, 1]');
    expect(msg).toContain('text_encoder.layers.0.mlp.up_proj.lora_A.weight (belongs to the text_encoder)');
    expect(unet.loraAdapters).toEqual([]);
    unet.dispose();
  });
});

const noOrt = await skipUnlessBackend('ort-cpu', 'LoRA on ort-cpu');

describe('UNet LoRA on the compiled backend (ort-cpu)', () => {
  test.skipIf(noOrt)('unfused adapters run compiled and match cpu; a new weight reuses the graph; fuse/unfuse stay exact', async () => {
    const ts = targets(base, 13);
    const file = path.join(tmp, 'ort.safetensors');
    await writePeft(ts, file);
    const cpuLora = await UNet2DConditionModel.fromPretrained(dir);
    await cpuLora.loadLoraWeights(file, { adapterName: 'x' });
    const wantFull = await run(cpuLora);
    cpuLora.setAdapters('x', 0.5);
    const wantHalf = await run(cpuLora);
    cpuLora.dispose();

    await C.setBackend('ort-cpu');
    let compiles = 0;
    const off = C.onCompile((e) => {
      if (e.phase === 'end' && e.label === 'unet') compiles++;
    });
    try {
      const unet = await UNet2DConditionModel.fromPretrained(dir);
      await unet.loadLoraWeights(file, { adapterName: 'x' });
      expect(maxAbsDiff(await run(unet), wantFull)).toBeLessThan(1e-4);
      unet.setAdapters('x', 0.5);
      expect(maxAbsDiff(await run(unet), wantHalf)).toBeLessThan(1e-4);
      // the adapter weight is an input of the compiled graph, not baked into it
      expect(compiles).toBe(1);
      unet.setAdapters('x', 1);
      await unet.fuseLora();
      expect(maxAbsDiff(await run(unet), wantFull)).toBeLessThan(1e-4);
      unet.unfuseLora();
      unet.unloadLoraWeights();
      expect(maxAbsDiff(await run(unet), baseOut)).toBeLessThan(1e-4);
      unet.dispose();
    } finally {
      off();
      await C.setBackend('cpu');
    }
  });
});
