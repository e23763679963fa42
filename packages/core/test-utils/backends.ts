import { existsSync } from 'node:fs';
import { beforeAll, describe, test } from 'vitest';
import { backendFailure, setBackend } from '../src/index.js';

/** The backends every parity test runs on (each only where it starts). */
export const TEST_BACKENDS = ['cpu', 'tfjs-cpu', 'tfjs-wasm', 'tfjs-webgpu', 'ort-cpu', 'ort-webgpu'] as const;

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

export interface ForEachBackendOptions {
  /** override the default list (still filtered by SDXS_TEST_BACKENDS when that is set) */
  backends?: readonly string[];
  /** backends to leave out of this suite, each with the reason shown as a skipped test */
  exclude?: Readonly<Record<string, string>>;
}

/**
 * Run `body` inside one describe block per backend, with that backend active. A backend that does not
 * start here gets a skipped test named with the reason (and a console warning): never a silent pass.
 */
export function forEachBackend(body: (name: string) => void, opts: ForEachBackendOptions = {}): void {
  preferSoftwareVulkan();
  const env = process.env.SDXS_TEST_BACKENDS ? testBackendNames() : null;
  const names = (opts.backends ?? TEST_BACKENDS).filter((n) => !env || env.includes(n));
  for (const name of names) {
    describe(`backend ${name}`, async () => {
      const excluded = opts.exclude?.[name];
      const why = excluded ?? (await backendFailure(name));
      if (why !== null) {
        console.warn(`[sdxs tests] skipping backend '${name}': ${why}`);
        test.skip(`${name} skipped: ${why.split('\n')[0]}`, () => {});
        return;
      }
      beforeAll(async () => {
        await setBackend(name);
      });
      body(name);
    });
  }
}
