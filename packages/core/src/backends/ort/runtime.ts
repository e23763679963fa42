/**
 * The two ONNX Runtime packages behind one small session interface, both through ONNX Runtime's public
 * JavaScript API (InferenceSession.create with in-memory external data; sessions are created and run
 * asynchronously): onnxruntime-node (native CPU, WebGPU through its own Dawn, CUDA when its provider is
 * installed) and onnxruntime-web (wasm and WebGPU in browsers, Node and Bun). Both are optional peers.
 */
import { dawnAdapterInfo, probeDawnAdapter } from '../dawn-probe.js';
import { BackendUnavailableError } from '../../errors.js';
import type { DeviceValue, HostArray, SegmentOutput } from '../../graph/lazy-value.js';
import * as P from '../../onnx/proto.js';
import { ensureXdgRuntimeDir, envOrtDeviceOutputs, envOrtKeepHalf, envOrtThreads, importOptional, isDeno, isNodeLike } from '../../env.js';

export type OrtProvider = 'cpu' | 'webgpu' | 'cuda' | 'wasm';

export type OrtFeed =
  | { type: 'float32' | 'int32' | 'float16'; data: HostArray | Uint16Array; dims: readonly number[] }
  /** a value in device memory, fed as the runtime tensor it is */
  | { device: DeviceValue };

export interface OrtSession {
  run(feeds: Record<string, OrtFeed>, outputs: readonly string[]): Promise<Record<string, SegmentOutput>>;
  dispose(): void;
}

export interface SessionSource {
  bytes: Uint8Array;
  externalData: { path: string; data: Uint8Array }[];
  /** some weight feeds several matrix products (a training graph): pre-packing would copy it per product */
  sharedWeights?: boolean;
  /** a float32 graph with 16-bit weights cast in the graph (kept 16-bit on a GPU: see keepHalfOptions) */
  halfWeights?: boolean;
  /** outputs come back to the host even where the runtime could keep them on its device (downloads) */
  hostOutputs?: boolean;
  /** the folder that file-backed initializers' locations are relative to (onnxruntime-node reads them itself) */
  weightsDir?: string;
}

export interface OrtRuntime {
  readonly pkg: 'onnxruntime-node' | 'onnxruntime-web';
  readonly provider: OrtProvider;
  /** sessions leave their outputs in device memory (GPU buffers) unless a SessionSource asks for host outputs */
  readonly deviceOutputs?: boolean;
  /** initializers may point into local weight files (SessionSource.weightsDir) */
  readonly fileWeights?: boolean;
  create(src: SessionSource): Promise<OrtSession>;
}


/** The part of ONNX Runtime's public JavaScript API (onnxruntime-common, shared by -node and -web) used here. */
interface PublicSession {
  run(feeds: Record<string, unknown>, fetches?: readonly string[]): Promise<Record<string, { data: unknown; location?: string; dispose?: () => void }>>;
  release(): Promise<void>;
  endProfiling?(): void;
}
interface NodeOrt {
  InferenceSession: { create(bytes: Uint8Array, options: object): Promise<PublicSession> };
  Tensor: new (type: string, data: HostArray | Uint16Array, dims: readonly number[]) => unknown;
  env: { logLevel?: string };
  listSupportedBackends(): { name: string; bundled: boolean }[];
}

let nodeModule: Promise<NodeOrt> | null = null;

function loadNodeOrt(): Promise<NodeOrt> {
  nodeModule ??= (async () => {
    const { createRequire } = (await importOptional('node:module')) as typeof import('node:module');
    const base = typeof __filename === 'string' ? __filename : import.meta.url;
    try {
      const ort = createRequire(base)('onnxruntime-node') as NodeOrt;
      // quiet unless something fails: ONNX Runtime's own warnings are about its internals
      ort.env.logLevel = 'error';
      return ort;
    } catch (e) {
      throw new BackendUnavailableError(
        `the ort-* backends need ONNX Runtime: npm i onnxruntime-node (its CUDA download is optional: --onnxruntime-node-install=skip) (${(e as Error).message.split('\n')[0]})`,
        { cause: e },
      );
    }
  })();
  return nodeModule;
}

/**
 * A session of the public API (onnxruntime-node or -web) as an OrtSession: feeds become ort.Tensors (device
 * values are fed as the tensors they are), the named outputs come back as host arrays or device values.
 */
function wrapSession(ort: { Tensor: NodeOrt['Tensor'] }, s: PublicSession, profiling = false): OrtSession {
  return {
    run: async (feeds, outputs) => {
      const f: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(feeds)) f[k] = 'device' in v ? v.device.tensor : new ort.Tensor(v.type, v.data, v.dims);
      const res = await s.run(f, outputs);
      const out: Record<string, SegmentOutput> = {};
      for (const o of outputs) {
        const t = res[o]!;
        // a GPU-buffer output stays where it is (downloads go through a session with host outputs: onnxruntime-node
        // 1.30's own download of a WebGPU tensor aborts the process)
        if (t.location === 'gpu-buffer') out[o] = { tensor: t, dispose: () => t.dispose?.() };
        else out[o] = t.data as HostArray;
      }
      return out;
    },
    dispose: () => {
      // a profiled session writes its profile (one JSON file per session) when it ends
      if (profiling) s.endProfiling?.();
      void s.release();
    },
  };
}

/**
 * onnxruntime-node lists CUDA whether or not its install script fetched the provider library; check for the
 * file first, so that a missing provider is a quiet, clear error instead of ONNX Runtime's own log line.
 */
async function requireCudaProvider(): Promise<void> {
  const { createRequire } = (await importOptional('node:module')) as typeof import('node:module');
  const path = (await importOptional('node:path')) as typeof import('node:path');
  const fs = (await importOptional('node:fs')) as typeof import('node:fs');
  const base = typeof __filename === 'string' ? __filename : import.meta.url;
  const binding = createRequire(base).resolve(`onnxruntime-node/bin/napi-v6/${process.platform}/${process.arch}/onnxruntime_binding.node`);
  const lib = path.join(path.dirname(binding), 'libonnxruntime_providers_cuda.so');
  if (!fs.existsSync(lib)) {
    throw new BackendUnavailableError(
      `ort-cuda needs onnxruntime-node's CUDA provider (${lib} is missing): reinstall with its install script allowed and network access (npm rebuild onnxruntime-node), on a machine with the CUDA and cuDNN versions that ONNX Runtime release was built for`,
    );
  }
}

/**
 * ONNX Runtime keeps a pre-packed copy of each MatMul/Conv weight beside the original, one per consumer.
 * It is off for graphs where a weight feeds several products (training: forward, recompute and backward
 * use each weight; a LoRA step on the real UNet peaked at 21.5 GB with it and 18.9 GB without, and ran no
 * slower).
 */
function prepackOptions(src: SessionSource): { extra?: { session: { disable_prepacking: string } } } {
  return src.sharedWeights === true ? { extra: { session: { disable_prepacking: '1' } } } : {};
}

/**
 * ONNX Runtime folds `Cast(float16 weight → float32)` into a float32 initializer at load (constant folding,
 * and FuseFp16InitializerToFp32NodeTransformer): on a GPU that doubles a 16-bit model's device memory (the
 * UNet: 6.8 GB instead of 3.4). Float32 graphs on a GPU provider turn both off, so 16-bit weights are uploaded
 * as 16 bits and cast where they are used (SDXS_ORT_KEEP_HALF=0 folds them again). Only on a device that can
 * hold float16 (CUDA, a WebGPU adapter with shader-f16): without it the Cast cannot run there ("Program Cast
 * requires f16 but the device does not support it"), and the weights are folded to float32 as before.
 */
function keepHalfOptions(src: SessionSource, halfDevice: boolean): { extra?: { optimization: { disable_specified_optimizers: string } } } {
  const on = envOrtKeepHalf() ?? (src.halfWeights === true && halfDevice);
  return on ? { extra: { optimization: { disable_specified_optimizers: 'ConstantFolding;FuseFp16InitializerToFp32NodeTransformer' } } } : {};
}

/** Session options of one segment: the shared ones plus its pre-packing, arena and 16-bit weight settings. */
function sessionOptions(base: object, src: SessionSource, halfDevice: boolean, deviceOutputs: boolean): object {
  // file-backed initializers (see OrtRunner.weightFiles) are read from this folder
  const files = src.weightsDir ? { model_external_initializers_file_folder_path: src.weightsDir } : {};
  const session = { ...prepackOptions(src).extra?.session, ...files };
  const extra = { ...keepHalfOptions(src, halfDevice).extra, ...(Object.keys(session).length ? { session } : {}) };
  const location = deviceOutputs && !src.hostOutputs ? { preferredOutputLocation: 'gpu-buffer' } : {};
  return { ...base, ...arenaOptions(src), ...location, ...(Object.keys(extra).length ? { extra } : {}), externalData: src.externalData };
}

/**
 * Outputs of WebGPU sessions stay in GPU memory (onnxruntime's `gpu-buffer` location), so a UNet step's
 * latents go from graph to graph without a round trip through the host; SDXS_ORT_DEVICE_OUTPUTS=0 brings every
 * output back. (CUDA outputs come back to the host: onnxruntime-node's JS API has no CUDA tensors.)
 */
const deviceOutputsFor = (provider: OrtProvider): boolean => provider === 'webgpu' && envOrtDeviceOutputs() !== false;

/**
 * ONNX Runtime's CPU memory arena keeps what a session allocated until the session goes; without it freed
 * activations go back to the allocator. Training graphs (shared weights) run without it: their activations
 * come and go in waves that the arena rounds up (the real-UNet LoRA step: 18.9 GB with it, 16.4 GB without).
 */
function arenaOptions(src: SessionSource): { enableCpuMemArena?: boolean } {
  return src.sharedWeights === true ? { enableCpuMemArena: false } : {};
}

/** Threads for ONNX Runtime's intra-op pool: SDXS_ORT_THREADS, else its default (physical cores). */
function threadOptions(): { intraOpNumThreads?: number } {
  const n = envOrtThreads();
  return n === undefined ? {} : { intraOpNumThreads: n };
}

/** Session options a benchmark adds to every session of a runtime (ONNX Runtime's profiler, ...). */
export interface NodeSessionExtras {
  /** per-node timings, one JSON file per session (`<prefix>_<date>.json`), written when the session is released */
  profileFilePrefix?: string;
}

/** onnxruntime-node with one execution provider; throws BackendUnavailableError when it cannot start. */
export async function nodeRuntime(provider: Exclude<OrtProvider, 'wasm'>, extras: NodeSessionExtras = {}): Promise<OrtRuntime> {
  if (!isNodeLike()) throw new BackendUnavailableError(`backend 'ort-${provider}' in a browser needs onnxruntime-web (this build uses onnxruntime-node)`);
  // Dawn (inside onnxruntime-node) complains on stderr when XDG_RUNTIME_DIR is unset; give it one
  if (provider === 'webgpu') await ensureXdgRuntimeDir();
  // Without an adapter, starting the WebGPU provider prints Dawn's Vulkan warnings from native code: ask first, in a child
  if (provider === 'webgpu') {
    const none = await probeDawnAdapter();
    if (none) throw new BackendUnavailableError(`backend 'ort-webgpu': no WebGPU adapter (${none})`);
  }
  const ort = await loadNodeOrt();
  const supported = ort.listSupportedBackends();
  const entry = supported.find((b) => b.name === provider);
  if (!entry) throw new BackendUnavailableError(`onnxruntime-node here has no '${provider}' execution provider (it has ${supported.map((b) => b.name).join(', ')})`);
  if (provider === 'cuda') await requireCudaProvider();
  const options = {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
    ...threadOptions(),
    ...(extras.profileFilePrefix ? { enableProfiling: true, profileFilePrefix: extras.profileFilePrefix } : {}),
  };
  // a device that holds float16 tensors: 16-bit weights can stay 16-bit there
  const halfDevice = provider === 'cuda' || (provider === 'webgpu' && (await dawnAdapterInfo()).shaderF16);
  const create = async (src: SessionSource): Promise<OrtSession> => {
    const s = await ort.InferenceSession.create(src.bytes, sessionOptions(options, src, halfDevice, deviceOutputs));
    return wrapSession(ort, s, extras.profileFilePrefix !== undefined);
  };
  const deviceOutputs = deviceOutputsFor(provider);
  // Probe: a provider can be listed and still fail to start (no adapter, no CUDA libraries).
  await probe(create, provider);
  return { pkg: 'onnxruntime-node', provider, deviceOutputs, fileWeights: true, create };
}

/** A one-node model (Add) run once, so that a provider that cannot start fails at selection time. */
async function probe(create: (src: SessionSource) => Promise<OrtSession>, provider: string): Promise<void> {
  const bytes = probeModel();
  try {
    const s = await create({ bytes, externalData: [], hostOutputs: true });
    const out = await s.run({ x: { type: 'float32', data: new Float32Array([1, 2]), dims: [2] } }, ['y']);
    s.dispose();
    const y = out.y as HostArray | undefined;
    if (y?.[1] !== 4) throw new Error(`probe returned ${String(y?.[1])} instead of 4`);
  } catch (e) {
    throw new BackendUnavailableError(`ONNX Runtime's '${provider}' execution provider did not start: ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
}

function probeModel(): Uint8Array {
  return P.model({
    graphName: 'probe',
    nodes: [P.node({ op: 'Add', inputs: ['x', 'x'], outputs: ['y'] })],
    initializers: [],
    inputs: [P.valueInfo('x', 'float32', [2])],
    outputs: [P.valueInfo('y', 'float32', [2])],
    opsets: { '': 21 },
  });
}

interface WebOrt {
  InferenceSession: { create(bytes: Uint8Array, options: object): Promise<PublicSession> };
  Tensor: NodeOrt['Tensor'];
  env: { logLevel?: string; wasm: { numThreads?: number } };
}

let injectedWeb: WebOrt | null = null;

/**
 * Hand core the onnxruntime-web module your bundler resolved (`import * as ort from 'onnxruntime-web/webgpu'`),
 * so that ort-webgpu and ort-cpu run on it (and set its `env.wasm.wasmPaths` to where you serve its .wasm files).
 */
export function useOnnxRuntimeWeb(ort: unknown): void {
  injectedWeb = ort as WebOrt;
}

export const hasInjectedOnnxRuntimeWeb = (): boolean => injectedWeb !== null;

/** onnxruntime-web (wasm or WebGPU): browsers, and Node/Bun where onnxruntime-node is absent. */
export async function webRuntime(provider: 'webgpu' | 'wasm'): Promise<OrtRuntime> {
  let ort: WebOrt;
  try {
    ort = injectedWeb ?? ((await importOptional(provider === 'webgpu' ? 'onnxruntime-web/webgpu' : 'onnxruntime-web')) as WebOrt);
  } catch (e) {
    const how = isDeno() ? "import 'npm:onnxruntime-web@1.30.0' in your program (or run with --preload npm:onnxruntime-web@1.30.0)" : 'npm i onnxruntime-web';
    throw new BackendUnavailableError(`backend 'ort-${provider}' needs onnxruntime-web: ${how} (${(e as Error).message.split('\n')[0]})`, { cause: e });
  }
  ort.env.logLevel = 'error';
  // Mesa's Vulkan drivers under Deno's wgpu complain on stderr when XDG_RUNTIME_DIR is unset; give them one
  if (provider === 'webgpu' && isDeno()) await ensureXdgRuntimeDir();
  if (provider === 'webgpu' && !(globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu) {
    throw new BackendUnavailableError(
      isNodeLike() && !isDeno()
        ? "backend 'ort-webgpu' on onnxruntime-web in Node/Bun needs a navigator.gpu: install one from the 'webgpu' package first (import { create, globals } from 'webgpu'; Object.assign(globalThis, globals); globalThis.navigator = { gpu: create([]) })"
        : "backend 'ort-webgpu': navigator.gpu is missing (WebGPU needs a secure context and a WebGPU-enabled browser)",
    );
  }
  // Dawn in Node/Bun (the 'webgpu' package) refuses writeBuffer data backed by a SharedArrayBuffer, and
  // onnxruntime-web's threaded wasm heap is one: hand it a copy
  type Queue = { writeBuffer: (...a: unknown[]) => unknown; sdxsCopiesShared?: true };
  const queue = (globalThis as { GPUQueue?: { prototype: Queue } }).GPUQueue?.prototype;
  if (provider === 'webgpu' && isNodeLike() && !isDeno() && queue && !queue.sdxsCopiesShared && typeof SharedArrayBuffer !== 'undefined') {
    const write = queue.writeBuffer;
    queue.writeBuffer = function (this: unknown, ...a: unknown[]) {
      const d = a[2];
      if (d instanceof SharedArrayBuffer) a[2] = new Uint8Array(d).slice().buffer;
      else if (ArrayBuffer.isView(d) && d.buffer instanceof SharedArrayBuffer && 'slice' in d) a[2] = (d as Uint8Array).slice();
      return write.apply(this, a);
    };
    queue.sdxsCopiesShared = true;
  }
  // onnxruntime-web's WebGPU provider takes one thing at a time: a session made while another runs fails
  // ("another WebGPU EP inference session is being created", then broken pipelines) when values are read
  // concurrently, so creations and runs wait for each other (the wasm provider needs no queue)
  let last: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    if (provider !== 'webgpu') return fn();
    const p = last.then(fn);
    last = p.catch(() => undefined);
    return p;
  };
  const createNow = async (src: SessionSource): Promise<OrtSession> => {
    const s = wrapSession(ort, await ort.InferenceSession.create(src.bytes, { executionProviders: [provider], graphOptimizationLevel: 'all', externalData: src.externalData }));
    return { run: (feeds, outputs) => serial(() => s.run(feeds, outputs)), dispose: s.dispose };
  };
  return { pkg: 'onnxruntime-web', provider, create: (src) => serial(() => createNow(src)) };
}
