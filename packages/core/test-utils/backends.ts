import { existsSync } from 'node:fs';
import { beforeAll, describe, test } from 'vitest';
import { backendFailure, setBackend } from '@sdxs/core';
import { skipUnless } from './skip.js';

/** The backends every parity test runs on (each only where it starts). */
export const TEST_BACKENDS = ['cpu', 'tfjs-cpu', 'tfjs-wasm', 'tfjs-webgpu', 'ort-cpu', 'ort-webgpu'] as const;

/**
 * The same plus the float16 graphs (`name:float16` runs `name` with compute 'float16'): ort-cpu runs them by
 * casting around nodes without float16 kernels (the CI check of the float16 lowering), ort-webgpu only on an
 * adapter with shader-f16 (skipped with the reason on SwiftShader); and ort-cpu's int8 products.
 */
export const PARITY_BACKENDS = [...TEST_BACKENDS, 'ort-cpu:float16', 'ort-webgpu:float16', 'ort-cpu:int8'] as const;

/**
 * The backends that start on CI's machine (.ci/run: Debian 12 without a GPU; Chromium's SwiftShader runs WebGPU;
 * the npm packages are devDependencies). Under CI a suite of one of them that cannot start fails. Not here:
 * tfjs-node and tfjs-node-gpu (never installed), ort-cuda (CUDA), ort-webgpu:float16 (SwiftShader has no
 * shader-f16).
 */
export const CI_BACKENDS: readonly string[] = ['cpu', 'tfjs-cpu', 'tfjs-wasm', 'tfjs-webgpu', 'ort-cpu', 'ort-cpu:float16', 'ort-cpu:int8', 'ort-webgpu'];

/**
 * Accuracy budget of float16 compute against the float32 reference: max |error| / max |reference| ≤ 1e-2
 * (issue #16). Float32 backends are held to the fixture's own atol/rtol.
 */
export const HALF_BUDGET = 1e-2;

/**
 * Accuracy budget of int8 products (compute 'int8') against the float32 reference, in relative L2 error
 * ‖err‖ / ‖ref‖ (relL2Error: quantization noise is spread over every element, so its RMS is the measure):
 * 8e-2 for one model call (a UNet step, a VAE decode, a few-step pipeline), the stated budget of
 * compute: 'int8' (core/README.md; the real UNet config errs by 7.1e-2 per step, the fixtures by 3.1–4.5e-2).
 * One int8 product errs by 0.8–1.3% (core/src/onnx/int8.ts); a model call chains tens of them. Deep text
 * encoders compound it layer after layer and state their own budget.
 */
export const INT8_BUDGET = 8e-2;

/** A test backend spec: `name` or `name:float16` / `name:float32` / `name:int8`. */
export function parseBackendSpec(spec: string): { name: string; compute: 'float16' | 'float32' | 'int8' | 'auto' } {
  const [name, compute] = spec.split(':') as [string, string | undefined];
  if (compute !== undefined && compute !== 'float16' && compute !== 'float32' && compute !== 'int8') throw new Error(`backend spec '${spec}': compute must be float16, float32 or int8`);
  return { name, compute: compute ?? 'auto' };
}

/** Whether a spec computes in float16 (judged by HALF_BUDGET rather than the fixture's tolerance). */
export const isHalfSpec = (spec: string): boolean => parseBackendSpec(spec).compute === 'float16';

/** The reduced precision a spec computes in (judged by a budget, not the fixture's tolerance), or null for float32. */
export function reducedPrecision(spec: string): 'float16' | 'int8' | null {
  const c = parseBackendSpec(spec).compute;
  return c === 'float16' || c === 'int8' ? c : null;
}

/** Budgets of the reduced precisions (max |err| / max |ref|), per precision. */
export type ReducedBudgets = Partial<Record<'float16' | 'int8', number>>;

/** The budget of a reduced-precision spec: `budgets` where given, else HALF_BUDGET / INT8_BUDGET. */
export function budgetOf(spec: string, budgets: ReducedBudgets = {}): number {
  const p = reducedPrecision(spec);
  if (p === null) throw new Error(`backend spec '${spec}' computes in float32: it is held to the fixture's tolerance, not a budget`);
  return budgets[p] ?? (p === 'float16' ? HALF_BUDGET : INT8_BUDGET);
}

/** ‖a − b‖₂ / ‖b‖₂: the int8 budget's measure (quantization noise is spread over every element; its largest single error is a few times its RMS). */
export function relL2Error(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let err = 0;
  let ref = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = actual[i]! - expected[i]!;
    err += Number.isNaN(d) ? Infinity : d * d;
    ref += expected[i]! * expected[i]!;
  }
  return ref === 0 ? Math.sqrt(err) : Math.sqrt(err / ref);
}

/** max |a − b| / max |b|: the float16 budget's measure. */
export function relMaxError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let err = 0;
  let ref = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    err = Number.isNaN(d) ? Infinity : Math.max(err, d);
    ref = Math.max(ref, Math.abs(expected[i]!));
  }
  return ref === 0 ? err : err / ref;
}

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/**
 * CI machines have no GPU: let Dawn use Chromium's SwiftShader unless the caller chose a Vulkan driver.
 * Must run before the webgpu backend first starts (it does: backends start lazily, in beforeAll).
 */
export function preferSoftwareVulkan(): void {
  if (process.env.VK_ICD_FILENAMES === undefined && existsSync(SWIFTSHADER_ICD)) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
}

/** The list to test: SDXS_TEST_BACKENDS=a,b restricts it (names outside the default list are allowed). */
export function testBackendNames(defaults: readonly string[] = TEST_BACKENDS): string[] {
  const env = process.env.SDXS_TEST_BACKENDS?.trim();
  return env ? env.split(',').map((s) => s.trim()).filter(Boolean) : [...defaults];
}

/**
 * skipUnless for a backend: whether to skip tests that need `spec` (`name` or `name:float16`), printing why it
 * did not start; under CI a CI_BACKENDS one that does not start is a failing test instead.
 */
export async function skipUnlessBackend(spec: string, what = `backend '${spec}'`): Promise<boolean> {
  const { name, compute } = parseBackendSpec(spec);
  const why = await backendFailure(name, { compute });
  return skipUnless(why === null, `${what}: ${why}`, { ciRequired: CI_BACKENDS.includes(spec) });
}

export interface ForEachBackendOptions {
  /** override the default list (still filtered by SDXS_TEST_BACKENDS when that is set) */
  backends?: readonly string[];
  /** backends to leave out of this suite, each with the reason shown as a skipped test */
  exclude?: Readonly<Record<string, string>>;
}

/**
 * Run `body` inside one describe block per backend, with that backend active. A backend that does not
 * start here gets a skipped test named with the reason (and a console warning): never a silent pass; under
 * CI one of CI_BACKENDS that does not start fails (skipUnless).
 */
export function forEachBackend(body: (name: string) => void, opts: ForEachBackendOptions = {}): void {
  preferSoftwareVulkan();
  const env = process.env.SDXS_TEST_BACKENDS ? testBackendNames() : null;
  const names = (opts.backends ?? TEST_BACKENDS).filter((n) => !env || env.includes(n));
  for (const name of names) {
    describe(`backend ${name}`, async () => {
      const excluded = opts.exclude?.[name];
      const spec = parseBackendSpec(name);
      const why = excluded ?? (await backendFailure(spec.name, { compute: spec.compute }));
      if (skipUnless(why === null, `backend '${name}': ${why}`, { ciRequired: excluded === undefined && CI_BACKENDS.includes(name) })) {
        test.skip(`${name} skipped: ${why!.split('\n')[0]}`, () => {});
        return;
      }
      beforeAll(async () => {
        await setBackend(spec.name, { compute: spec.compute });
      });
      body(name);
    });
  }
}
