// ort-webgpu on onnxruntime-web in Node over a navigator.gpu the user installed from the `webgpu` package
// (Dawn on SwiftShader here), handed to core with useOnnxRuntimeWeb: the route Deno takes with its own navigator.gpu.
import { existsSync } from 'node:fs';
import { beforeAll, expect, test } from 'vitest';
import * as C from '../src/index.js';
import { skipUnless } from '@sdxs/core/testing';

const ICD = process.env.VK_ICD_FILENAMES ?? '/usr/lib/chromium/vk_swiftshader_icd.json';
let skip: string | null = existsSync(ICD) ? null : `no Vulkan ICD at ${ICD} (apt-get install chromium for SwiftShader)`;
let webgpu: { create(flags: string[]): unknown; globals: Record<string, unknown> } | null = null;
if (!skip) webgpu = (await import('webgpu').catch(() => null)) as typeof webgpu;
if (!skip && !webgpu) skip = "the 'webgpu' package is not installed";
// .ci/run installs Chromium (its SwiftShader ICD); `webgpu` is a devDependency
const noWebgpu = skipUnless(skip === null, `ort-webgpu on onnxruntime-web in Node: ${skip}`, { ciRequired: true });

beforeAll(async () => {
  if (skip) return;
  process.env.VK_ICD_FILENAMES = ICD;
  C.useOnnxRuntimeWeb(await import('onnxruntime-web/webgpu'));
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  Object.assign(globalThis, webgpu!.globals);
  (globalThis as { navigator?: unknown }).navigator = { gpu: webgpu!.create([]) };
});

test.skipIf(noWebgpu)('a convolution, a product and attention on onnxruntime-web WebGPU equal the cpu backend, read concurrently', async () => {
  const build = (): C.Tensor[] => {
    const x = C.randomNormal([1, 8, 12, 10], { seed: 1 });
    const w = C.randomNormal([8, 8, 3, 3], { seed: 2 });
    const q = C.randomNormal([1, 2, 16, 8], { seed: 3 });
    return [C.conv2d(x, w, null, { padding: 1 }), C.matmul(C.reshape(x, [8, 120]), C.reshape(x, [120, 8])), C.scaledDotProductAttention(q, q, q)];
  };
  await C.setBackend('cpu');
  const want = await Promise.all(build().map((t) => t.data()));
  await C.setBackend('ort-webgpu');
  expect(C.getBackend()).toBe('ort-webgpu');
  // read concurrently: onnxruntime-web's WebGPU provider must be handed one session creation or run at a time
  const got = await Promise.all(build().map((t) => t.data()));
  got.forEach((g, k) => {
    let err = 0;
    for (let i = 0; i < g.length; i++) err = Math.max(err, Math.abs(g[i]! - want[k]![i]!));
    expect(err, `output ${k}`).toBeLessThan(1e-4);
  });
});
