/**
 * Asking Dawn for a WebGPU adapter in a child process. Dawn, Vulkan and Mesa print to the process's
 * stderr from native code while they look for one (Vulkan feature warnings, XDG_RUNTIME_DIR), even
 * when all goes well; a backend that would find none is refused from the child's answer, so choosing
 * a backend stays silent. Node only (imports are lazy).
 */
import { importOptional } from '../env.js';

/**
 * Whether Dawn finds a WebGPU adapter, asked in a child process with its output captured: undefined
 * when it does (or when the probe itself cannot run), else the reason in one line.
 */
export async function probeDawnAdapter(): Promise<string | undefined> {
  return (await dawnAdapterInfo()).none;
}

let cachedInfo: Promise<{ none?: string; shaderF16: boolean }> | null = null;

/** probeDawnAdapter's answer, plus whether the adapter has `shader-f16` (asked once per process). */
export function dawnAdapterInfo(): Promise<{ none?: string; shaderF16: boolean }> {
  cachedInfo ??= askDawn();
  return cachedInfo;
}

async function askDawn(): Promise<{ none?: string; shaderF16: boolean }> {
  let webgpuPath: string;
  let spawnSync: typeof import('node:child_process').spawnSync;
  try {
    const { createRequire } = (await importOptional('node:module')) as typeof import('node:module');
    ({ spawnSync } = (await importOptional('node:child_process')) as typeof import('node:child_process'));
    const base = typeof __filename === 'string' ? __filename : import.meta.url;
    webgpuPath = createRequire(base).resolve('webgpu');
  } catch {
    return { shaderF16: false };
  }
  const script =
    `const d=require(${JSON.stringify(webgpuPath)});Object.assign(globalThis,d.globals);` +
    `d.create([]).requestAdapter({powerPreference:'high-performance'}).then(a=>{process.stdout.write(a?'ADAPTER'+(a.features.has('shader-f16')?' F16':''):'NONE');process.exit(0)},e=>{process.stdout.write('ERR '+e.message);process.exit(0)})`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000, env: process.env });
  if (r.stdout?.includes('ADAPTER')) return { shaderF16: r.stdout.includes('ADAPTER F16') };
  const detail = `${r.stdout ?? ''} ${r.stderr ?? ''}`.replace(/\s+/g, ' ').trim();
  return { none: `Dawn found no adapter${detail ? `: ${detail.slice(0, 300)}` : ''}`, shaderF16: false };
}

