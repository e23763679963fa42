/** Hub settings from the environment (Node); every reader tolerates a missing `process` (browsers). */

function env(name: string): string | undefined {
  const p = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  const v = p?.env?.[name];
  return v === undefined || v === '' ? undefined : v;
}

/** `HF_ENDPOINT`, else https://huggingface.co (no trailing slash). */
export function hubEndpoint(): string {
  return (env('HF_ENDPOINT') ?? 'https://huggingface.co').replace(/\/+$/, '');
}

/** `HF_TOKEN`, else the older `HUGGING_FACE_HUB_TOKEN`. */
export function hubToken(): string | undefined {
  return env('HF_TOKEN') ?? env('HUGGING_FACE_HUB_TOKEN');
}

/** True when `HF_HUB_OFFLINE` is 1/true/yes/on. */
export function hubOffline(): boolean {
  return /^(1|true|yes|on)$/i.test(env('HF_HUB_OFFLINE') ?? '');
}

/** `SDXS_CACHE`, `HF_HUB_CACHE`, `$HF_HOME/hub`, else `~/.cache/huggingface/hub` (XDG_CACHE_HOME honoured). */
export async function defaultHubCacheDir(): Promise<string> {
  const direct = env('SDXS_CACHE') ?? env('HF_HUB_CACHE');
  if (direct) return direct;
  const path = await import('node:path');
  const home = env('HF_HOME');
  if (home) return path.join(home, 'hub');
  const os = await import('node:os');
  return path.join(env('XDG_CACHE_HOME') ?? path.join(os.homedir(), '.cache'), 'huggingface', 'hub');
}
