import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { expect, test } from 'vitest';

// The LoRA step benchmark (benchmarks/lora-step.ts) at its --tiny config: it runs and reports what it promises.
// The real config (minutes per step) is run by hand, as its header says.
test('benchmarks/lora-step.ts --tiny prints time per step and peak RSS as JSON', () => {
  const root = path.resolve(__dirname, '..');
  const out = execFileSync(process.execPath, ['--conditions=sdxs-source', '--import', 'tsx', 'benchmarks/lora-step.ts', '--tiny', '--sizes', '8', '--steps', '1', '--rank', '4'], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
    timeout: 120_000,
  });
  const r = JSON.parse(out) as { backend: string; rank: number; baseBytes: number; unetParams: number; adapterParams: number; results: { latent: string; msPerStep: number; peakRssMiB: number | null; loss: number }[] };
  expect(r).toMatchObject({ backend: 'cpu', rank: 4 });
  expect(r.baseBytes).toBe(2 * r.unetParams); // the frozen base stays float16
  expect(r.adapterParams).toBeGreaterThan(0);
  expect(r.results).toHaveLength(1);
  expect(r.results[0]).toMatchObject({ latent: '8x8' });
  expect(r.results[0]!.msPerStep).toBeGreaterThan(0);
  expect(Number.isFinite(r.results[0]!.loss)).toBe(true);
  if (process.platform === 'linux') expect(r.results[0]!.peakRssMiB).toBeGreaterThan(50);
}, 120_000);
