import { probeDawnAdapter } from '../dawn-probe.js';
import { BackendUnavailableError } from '../../errors.js';
import type { TF } from './types.js';
import { importOptional, isNodeLike } from '../../env.js';


export async function loadTfjsCore(): Promise<TF> {
  try {
    return await import('@tensorflow/tfjs-core');
  } catch (e) {
    throw new BackendUnavailableError(`the tfjs backends need @tensorflow/tfjs-core: npm i @tensorflow/tfjs-core (${(e as Error).message})`, { cause: e });
  }
}

/** Initialise tf's backend `tfName` and make sure it is usable. */
export async function startTf(tf: TF, tfName: string, hint: string): Promise<void> {
  let ok = false;
  let why = '';
  try {
    ok = await tf.setBackend(tfName);
  } catch (e) {
    why = (e as Error).message;
  }
  if (!ok || tf.getBackend() !== tfName) throw new BackendUnavailableError(`tfjs backend '${tfName}' failed to initialise${why ? `: ${why}` : ''}. ${hint}`);
}

export async function initTfjsCpu(tf: TF): Promise<void> {
  await import('@tensorflow/tfjs-backend-cpu').catch((e: Error) => {
    throw new BackendUnavailableError(`backend 'tfjs-cpu' needs @tensorflow/tfjs-backend-cpu: npm i @tensorflow/tfjs-backend-cpu (${e.message})`);
  });
  await startTf(tf, 'cpu', '');
  // tfjs-cpu prints an advert for tfjs-node on first use in Node; the choice of backend is ours
  (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
}

export async function initTfjsWasm(tf: TF): Promise<void> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm').catch((e: Error) => {
    throw new BackendUnavailableError(`backend 'tfjs-wasm' needs @tensorflow/tfjs-backend-wasm: npm i @tensorflow/tfjs-backend-wasm (${e.message})`);
  });
  // In Node and Bun, point tfjs at the .wasm files inside its own package, whichever entry (main or
  // module) the runtime resolved and wherever the package was installed. Browsers keep tfjs's default
  // (next to the script) or what the application set with setWasmPaths.
  if (isNodeLike()) {
    const dist = await wasmDistDir();
    if (dist) wasm.setWasmPaths(dist);
  }
  await startTf(tf, 'wasm', 'The .wasm files ship inside @tensorflow/tfjs-backend-wasm/dist; in a browser call setWasmPaths() with where you serve them.');
}

/** `<tfjs-backend-wasm>/dist/`, resolved from this module (ESM or the CJS build); null leaves tfjs's default. */
async function wasmDistDir(): Promise<string | null> {
  try {
    const { createRequire } = (await importOptional('node:module')) as typeof import('node:module');
    const path = (await importOptional('node:path')) as typeof import('node:path');
    const base = typeof __filename === 'string' ? __filename : import.meta.url;
    const pkg = createRequire(base).resolve('@tensorflow/tfjs-backend-wasm/package.json');
    return path.join(path.dirname(pkg), 'dist') + path.sep;
  } catch {
    return null;
  }
}

interface GpuNavigator {
  gpu?: unknown;
}

/** In Node/Bun without navigator.gpu, install Dawn from the `webgpu` package (must run before tfjs-backend-webgpu loads). */
async function ensureNavigatorGpu(): Promise<void> {
  const g = globalThis as { navigator?: GpuNavigator };
  if (g.navigator?.gpu) return;
  if (!isNodeLike()) throw new BackendUnavailableError("backend 'tfjs-webgpu': this browser has no navigator.gpu (WebGPU needs a secure context and a WebGPU-enabled browser)");
  let dawn: { create: (flags: string[]) => unknown; globals: Record<string, unknown> };
  try {
    dawn = (await importOptional('webgpu')) as typeof dawn;
  } catch (e) {
    throw new BackendUnavailableError(`backend 'tfjs-webgpu' in Node/Bun needs the 'webgpu' package (Dawn): npm i webgpu (${(e as Error).message})`);
  }
  // Dawn, Vulkan and Mesa print to the process's stderr from native code while they look for an
  // adapter (XDG_RUNTIME_DIR, Vulkan feature warnings), even when all goes well. Ask in a child process
  // first: no adapter means no Dawn here and no noise; the child's output becomes the reason.
  const probe = await probeDawnAdapter();
  if (probe) throw new BackendUnavailableError(`${NO_ADAPTER_HINT} (${probe})`);
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create([]);
  if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  else g.navigator = { gpu };
}

const NO_ADAPTER_HINT =
  'No WebGPU adapter: on a machine without a GPU run with a software Vulkan, e.g. VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json (Debian package chromium).';

export async function initTfjsWebgpu(tf: TF): Promise<void> {
  await ensureNavigatorGpu();
  const webgpu = await import('@tensorflow/tfjs-backend-webgpu').catch((e: Error) => {
    throw new BackendUnavailableError(`backend 'tfjs-webgpu' needs @tensorflow/tfjs-backend-webgpu: npm i @tensorflow/tfjs-backend-webgpu (${e.message})`);
  });
  // tfjs registers 'webgpu' at import only when navigator.gpu existed then; otherwise register it here.
  if (!tf.findBackendFactory('webgpu')) tf.registerBackend('webgpu', () => createWebgpuBackend(webgpu.WebGPUBackend));
  await startTf(tf, 'webgpu', NO_ADAPTER_HINT);
  // tfjs may have created the device itself: ask for the same adapter to learn what it is
  const adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (adapter) softwareAdapter = isSoftwareAdapter(adapter as GPUAdapter & { info?: { vendor?: string; architecture?: string; description?: string } });
}

type WebGPUBackendCtor = typeof import('@tensorflow/tfjs-backend-webgpu').WebGPUBackend;

/** A device with the adapter's maximum buffer limits (the defaults, 256/128 MiB, are too small for the models). */
async function createWebgpuBackend(Ctor: WebGPUBackendCtor): Promise<InstanceType<WebGPUBackendCtor>> {
  const adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new BackendUnavailableError(NO_ADAPTER_HINT);
  const l = adapter.limits;
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxBufferSize: l.maxBufferSize,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
    },
  });
  const info = (adapter as GPUAdapter & { info?: ConstructorParameters<WebGPUBackendCtor>[1] }).info;
  softwareAdapter = isSoftwareAdapter(adapter as GPUAdapter & { isFallbackAdapter?: boolean; info?: { vendor?: string; architecture?: string; description?: string } });
  return new Ctor(device, info);
}

let softwareAdapter = false;
/** Whether the WebGPU adapter in use is a software rasteriser (SwiftShader, llvmpipe/lavapipe, WARP). */
export const webgpuIsSoftware = (): boolean => softwareAdapter;

function isSoftwareAdapter(a: { isFallbackAdapter?: boolean; info?: { vendor?: string; architecture?: string; description?: string } }): boolean {
  if (a.isFallbackAdapter || (a.info as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter) return true;
  const text = `${a.info?.vendor ?? ''} ${a.info?.architecture ?? ''} ${a.info?.description ?? ''}`.toLowerCase();
  return /swiftshader|llvmpipe|lavapipe|software|warp/.test(text);
}

/** tfjs-node / tfjs-node-gpu bring their own tfjs (re-exported); use that namespace. */
export async function loadTfjsNode(pkg: '@tensorflow/tfjs-node' | '@tensorflow/tfjs-node-gpu', sdxsName: string): Promise<TF> {
  let mod: unknown;
  try {
    mod = await importOptional(pkg);
  } catch (e) {
    const extra = pkg.endsWith('-gpu') ? ' It needs CUDA 11.2 and cuDNN 8.1 on this machine.' : '';
    throw new BackendUnavailableError(
      `backend '${sdxsName}' needs the optional peer dependency ${pkg}: npm i ${pkg} (its install script downloads libtensorflow).${extra} (${(e as Error).message})`,
      { cause: e },
    );
  }
  const ns = mod as TF & { default?: TF };
  const tf = typeof ns.tidy === 'function' ? ns : ns.default!;
  await startTf(tf, 'tensorflow', `${pkg} loaded but its 'tensorflow' backend did not start.`);
  return tf;
}
