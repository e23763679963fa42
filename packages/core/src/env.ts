/**
 * The runtime and its environment, in one place: what the code runs in (Node/Bun, Deno or a browser), and
 * every environment variable the runtime packages read (core, vae, unet, text-qwen, sampler, train, data,
 * pipeline, cli). Each variable has one reader here; a value that is set but wrong is a typed error naming
 * the variable and the value. An unset or empty variable is absent. Every reader takes the environment to
 * read (the CLI passes its own) and defaults to `process.env`; in a browser that is empty.
 *
 * The variables are listed, with their defaults and values, in README.md (`ENV_VARIABLES` is that list).
 */
import { listBackends } from './engine.js';
import { ArgumentError, HubError, InputError, type SdxsError } from './errors.js';
import type { ComputePrecision } from './backend.js';

/** An environment to read variables from (`process.env`, or the CLI's own). */
export type EnvSource = Readonly<Record<string, string | undefined>>;

// ---------------------------------------------------------------- the runtime

export const isNodeLike = (): boolean => typeof process !== 'undefined' && typeof process.versions?.node === 'string';

/** Deno (which is node-like too: it has `process` and runs npm packages). */
export const isDeno = (): boolean => typeof (globalThis as { Deno?: { version?: { deno?: unknown } } }).Deno?.version?.deno === 'string';

/** Whether the runtime itself provides WebGPU (`navigator.gpu`): browsers and Deno, not Node or Bun. */
export const hasOwnWebgpu = (): boolean => !!(globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu && (!isNodeLike() || isDeno());

/** Import by a computed name so bundlers and tsc do not require optional peers to be installed. */
export const importOptional = (name: string): Promise<unknown> => import(/* @vite-ignore */ name);

/** The process environment, or an empty one where there is no `process` (browsers). */
export function processEnv(): EnvSource {
  const p = (globalThis as { process?: { env?: EnvSource } }).process;
  return p?.env ?? {};
}

/** The variable's value; unset and empty are both undefined. */
function read(name: string, env: EnvSource): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v;
}

type ErrorClass = new (message: string) => SdxsError;

const bad = (Err: ErrorClass, name: string, what: string, v: string): SdxsError => new Err(`${name} must be ${what}, got '${v.slice(0, 40)}'`);

/** A positive finite number (a safe integer when `integer`), or undefined when unset. */
function positive(name: string, env: EnvSource, what: string, Err: ErrorClass, integer = true): number | undefined {
  const v = read(name, env);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!((integer ? Number.isSafeInteger(n) : Number.isFinite(n)) && n > 0)) throw bad(Err, name, what, v);
  return n;
}

/** A 0/1 switch, or undefined when unset. */
function onOff(name: string, env: EnvSource): boolean | undefined {
  const v = read(name, env);
  if (v === undefined) return undefined;
  if (v !== '0' && v !== '1') throw bad(ArgumentError, name, '0 or 1', v);
  return v === '1';
}

// ---------------------------------------------------------------- backends

/**
 * SDXS_BACKEND: the backend to use when none is named (`auto` or a registered backend); undefined when unset.
 * An unknown name is an ArgumentError listing the registered ones.
 */
export function envBackend(env: EnvSource = processEnv()): string | undefined {
  const v = read('SDXS_BACKEND', env)?.trim();
  if (v === undefined || v === 'auto') return v;
  if (!listBackends().includes(v)) throw new ArgumentError(`unknown backend '${v.slice(0, 40)}' (from SDXS_BACKEND); choose one of: auto, ${listBackends().join(', ')}`);
  return v;
}

const COMPUTE_VALUES: Readonly<Record<string, ComputePrecision | 'auto'>> = { auto: 'auto', f16: 'float16', float16: 'float16', f32: 'float32', float32: 'float32', int8: 'int8' };

/** A compute name as users write it (auto, f16/float16, f32/float32, int8) as the compute option; undefined if it is none. */
export function computeNamed(v: string): ComputePrecision | 'auto' | undefined {
  return Object.prototype.hasOwnProperty.call(COMPUTE_VALUES, v) ? COMPUTE_VALUES[v] : undefined;
}

/** SDXS_COMPUTE (the CLI's default --compute): auto, f16 (float16), f32 (float32) or int8; undefined when unset. */
export function envCompute(env: EnvSource = processEnv()): ComputePrecision | 'auto' | undefined {
  const v = read('SDXS_COMPUTE', env)?.trim();
  if (v === undefined) return undefined;
  const c = computeNamed(v);
  if (!c) throw bad(ArgumentError, 'SDXS_COMPUTE', 'auto, f16, f32 or int8', v);
  return c;
}

/** Whether VK_ICD_FILENAMES points Dawn at a software Vulkan driver (SwiftShader, lavapipe): `auto` tries such backends last. */
export function vulkanIsSoftware(env: EnvSource = processEnv()): boolean {
  return /swiftshader|lvp|lavapipe/i.test(env.VK_ICD_FILENAMES ?? '');
}

/** Dawn and Mesa's Vulkan drivers complain on stderr when XDG_RUNTIME_DIR is unset: give them the temp folder. */
export async function ensureXdgRuntimeDir(): Promise<void> {
  if (typeof process === 'undefined' || process.env.XDG_RUNTIME_DIR) return;
  process.env.XDG_RUNTIME_DIR = ((await importOptional('node:os')) as typeof import('node:os')).tmpdir();
}

/** SDXS_ORT_THREADS: threads of ONNX Runtime's intra-op pool (onnxruntime-node); undefined: its default (physical cores). */
export function envOrtThreads(env: EnvSource = processEnv()): number | undefined {
  return positive('SDXS_ORT_THREADS', env, 'a positive whole number of threads', ArgumentError);
}

/** SDXS_ORT_CACHE_BYTES: weight bytes the ONNX Runtime sessions kept may hold together; undefined: the runner's default. */
export function envOrtCacheBytes(env: EnvSource = processEnv()): number | undefined {
  return positive('SDXS_ORT_CACHE_BYTES', env, 'a positive whole number of bytes', ArgumentError);
}

/** SDXS_ORT_DEVICE_OUTPUTS: 0 brings every WebGPU session output back to the host; undefined: outputs stay on the GPU. */
export function envOrtDeviceOutputs(env: EnvSource = processEnv()): boolean | undefined {
  return onOff('SDXS_ORT_DEVICE_OUTPUTS', env);
}

/** SDXS_ORT_KEEP_HALF: 1 keeps 16-bit weights 16-bit on the device everywhere, 0 folds them to float32; undefined: automatic. */
export function envOrtKeepHalf(env: EnvSource = processEnv()): boolean | undefined {
  return onOff('SDXS_ORT_KEEP_HALF', env);
}

// ---------------------------------------------------------------- the Hugging Face hub

/** `HF_ENDPOINT`, else https://huggingface.co (no trailing slash). */
export function hubEndpoint(env: EnvSource = processEnv()): string {
  return (read('HF_ENDPOINT', env) ?? 'https://huggingface.co').replace(/\/+$/, '');
}

/** `HF_TOKEN`, else the older `HUGGING_FACE_HUB_TOKEN`. */
export function hubToken(env: EnvSource = processEnv()): string | undefined {
  return read('HF_TOKEN', env) ?? read('HUGGING_FACE_HUB_TOKEN', env);
}

/** True when `HF_HUB_OFFLINE` is 1/true/yes/on. */
export function hubOffline(env: EnvSource = processEnv()): boolean {
  return /^(1|true|yes|on)$/i.test(read('HF_HUB_OFFLINE', env) ?? '');
}

/** `HF_HUB_CACHE`, `$HF_HOME/hub`, else `~/.cache/huggingface/hub` (XDG_CACHE_HOME honoured): the cache the hub's own tools use. */
export async function defaultHubCacheDir(env: EnvSource = processEnv()): Promise<string> {
  const direct = read('HF_HUB_CACHE', env);
  if (direct) return direct;
  const path = await import('node:path');
  const home = read('HF_HOME', env);
  if (home) return path.join(home, 'hub');
  const os = await import('node:os');
  return path.join(read('XDG_CACHE_HOME', env) ?? path.join(os.homedir(), '.cache'), 'huggingface', 'hub');
}

const hubSeconds = (name: string, env: EnvSource): number | undefined => {
  const s = positive(name, env, 'a positive number of seconds', HubError, false);
  return s === undefined ? undefined : s * 1000;
};

/** SDXS_HUB_IDLE_TIMEOUT (seconds) as ms: how long a download may receive nothing; undefined when unset. */
export const envHubIdleTimeoutMs = (env: EnvSource = processEnv()): number | undefined => hubSeconds('SDXS_HUB_IDLE_TIMEOUT', env);

/** SDXS_HUB_TIMEOUT (seconds) as ms: how long one file may take; undefined when unset. */
export const envHubTotalTimeoutMs = (env: EnvSource = processEnv()): number | undefined => hubSeconds('SDXS_HUB_TIMEOUT', env);

/** SDXS_HUB_MAX_BYTES: the largest hub file accepted; undefined when unset. */
export function envHubMaxBytes(env: EnvSource = processEnv()): number | undefined {
  return positive('SDXS_HUB_MAX_BYTES', env, 'a positive whole number of bytes', HubError);
}

// ---------------------------------------------------------------- image files

/** SDXS_MAX_IMAGE_PIXELS: images whose header claims more pixels are refused before decoding; undefined when unset. */
export function envMaxImagePixels(env: EnvSource = processEnv()): number | undefined {
  return positive('SDXS_MAX_IMAGE_PIXELS', env, 'a positive integer (pixels)', InputError);
}

/** SDXS_MAX_IMAGE_BYTES: larger image files are refused before reading; undefined when unset (then derived from the pixel limit). */
export function envMaxImageBytes(env: EnvSource = processEnv()): number | undefined {
  return positive('SDXS_MAX_IMAGE_BYTES', env, 'a positive integer (bytes)', InputError);
}

// ---------------------------------------------------------------- the list

/** One environment variable: README.md's table lists exactly these (a test holds them equal). */
export interface EnvVariable {
  name: string;
  /** what it does */
  description: string;
  /** the default when unset */
  default: string;
  /** the values it takes */
  values: string;
}

/** Every environment variable the runtime packages read (the test and benchmark ones are listed in README.md only). */
export const ENV_VARIABLES: readonly EnvVariable[] = Object.freeze([
  { name: 'SDXS_BACKEND', description: 'backend used when none is named (CLI commands, `sdxs train`, `sdxs-data`)', default: 'auto', values: 'auto or a registered backend' },
  { name: 'SDXS_COMPUTE', description: "the CLI's default `--compute`", default: 'auto', values: 'auto, f16 (float16), f32 (float32), int8 (ort-cpu: float32 with int8 products)' },
  { name: 'SDXS_ORT_THREADS', description: "threads of ONNX Runtime's intra-op pool (onnxruntime-node)", default: "ONNX Runtime's (physical cores)", values: 'positive integer' },
  { name: 'SDXS_ORT_CACHE_BYTES', description: 'weight bytes the compiled ONNX Runtime sessions kept may hold together (least recently used dropped first)', default: '40% of memory (Node), 2 GiB elsewhere', values: 'positive integer (bytes)' },
  { name: 'SDXS_ORT_DEVICE_OUTPUTS', description: 'WebGPU session outputs stay in GPU memory between graphs; 0 brings every one back to the host', default: '1', values: '0, 1' },
  { name: 'SDXS_ORT_KEEP_HALF', description: '16-bit weights stay 16-bit on a GPU (cast where used) instead of being folded to float32 at load', default: 'on for float32 graphs on a device with float16', values: '0 (always fold), 1 (always keep)' },
  { name: 'SDXS_HUB_IDLE_TIMEOUT', description: 'a hub download fails when the server sends nothing for this long', default: '60', values: 'positive number (seconds)' },
  { name: 'SDXS_HUB_TIMEOUT', description: 'a hub download fails when one file takes longer', default: '21600 (6 hours)', values: 'positive number (seconds)' },
  { name: 'SDXS_HUB_MAX_BYTES', description: 'largest hub file accepted (a bigger stated size is refused, a longer body cut off)', default: '53687091200 (50 GiB)', values: 'positive integer (bytes)' },
  { name: 'SDXS_MAX_IMAGE_PIXELS', description: 'images whose header claims more pixels are refused before decoding (CLI, `sdxs-data`)', default: '67108864 (8192x8192)', values: 'positive integer (pixels)' },
  { name: 'SDXS_MAX_IMAGE_BYTES', description: 'larger image files are refused before reading (CLI, `sdxs-data`)', default: '8 bytes a pixel of the pixel limit + 16 MiB (528 MiB)', values: 'positive integer (bytes)' },
  { name: 'HF_HUB_CACHE', description: 'the hub cache folder', default: '$HF_HOME/hub', values: 'a folder' },
  { name: 'HF_HOME', description: "the Hugging Face home (the cache is its `hub` folder)", default: '$XDG_CACHE_HOME/huggingface or ~/.cache/huggingface', values: 'a folder' },
  { name: 'HF_ENDPOINT', description: 'the hub to download from', default: 'https://huggingface.co', values: 'a URL' },
  { name: 'HF_TOKEN', description: 'access token for gated or private repos (HUGGING_FACE_HUB_TOKEN is read too)', default: 'none', values: 'a token' },
  { name: 'HF_HUB_OFFLINE', description: 'only the cache is used: no network', default: 'off', values: '1, true, yes, on' },
  { name: 'FFMPEG_PATH', description: 'the ffmpeg binary video upscaling runs (read by `@sdxs/vae/node`)', default: 'ffmpeg on PATH', values: 'an executable file' },
  { name: 'FFPROBE_PATH', description: 'the ffprobe binary video upscaling runs', default: 'ffprobe beside ffmpeg, else on PATH', values: 'an executable file' },
  { name: 'VK_ICD_FILENAMES', description: 'the Vulkan driver Dawn uses; a software one (SwiftShader, lavapipe) makes `auto` try WebGPU backends last', default: "the system's", values: 'an ICD json file' },
]);
