/** The header's status pill: the backend in use and what runs it (ONNX Runtime's execution provider, TensorFlow.js, ...). */
import { BACKEND_PROVIDERS, type BackendChoice, type BackendName } from './backend.js';
import { byId } from './dom.js';
import { showNotice } from './notice.js';

interface GpuLike {
  requestAdapter(): Promise<{ info?: { vendor?: string; architecture?: string; description?: string } } | null>;
}

function gpu(): GpuLike | undefined {
  return (navigator as Navigator & { gpu?: GpuLike }).gpu;
}

/** Before the first run: says whether WebGPU is there at all. */
export function initStatusLine(): void {
  const provider = byId('provider', HTMLElement);
  if (!window.isSecureContext) provider.textContent = 'WebGPU needs http://localhost or HTTPS: CPU only here';
  else if (!gpu()) provider.textContent = 'no WebGPU in this browser: CPU (wasm) only';
  else provider.textContent = 'WebGPU available · starts on the first run';
}

async function adapterName(): Promise<string> {
  try {
    const info = (await gpu()?.requestAdapter())?.info;
    return [info?.vendor, info?.architecture || info?.description].filter(Boolean).join(' ');
  } catch {
    return '';
  }
}

/** A backend started: its name, its provider, and a warning when 'auto' had to skip WebGPU. */
export function showBackend(choice: BackendChoice, name: BackendName, failed: readonly string[]): void {
  const status = byId('status', HTMLElement);
  const label = byId('backend-used', HTMLElement);
  const provider = byId('provider', HTMLElement);
  const { provider: what, gpu: onGpu } = BACKEND_PROVIDERS[name];
  label.textContent = `backend: ${name}`;
  label.title = failed.length ? `not started first:\n${failed.join('\n')}` : '';
  provider.textContent = what;
  status.dataset.state = onGpu ? 'gpu' : 'cpu';
  status.dataset.backend = name;
  if (onGpu) {
    void adapterName().then((a) => {
      if (a && status.dataset.backend === name) provider.textContent = `${what} · ${a}`;
    });
  }
  const gpuFailed = failed.filter((f) => /webgpu/.test(f));
  if (choice === 'auto' && !onGpu && gpuFailed.length) {
    showNotice({
      level: 'warn',
      kind: 'webgpu-fallback',
      title: `WebGPU is unavailable, so the page runs on ${name}`,
      advice: [
        `${gpuFailed.join('; ')}.`,
        'This works, but much more slowly. For speed use a recent Chrome or Edge with WebGPU enabled, on http://localhost or HTTPS, on a machine with a GPU.',
      ],
    });
  }
}

export function showBackendFailed(choice: BackendChoice): void {
  byId('status', HTMLElement).dataset.state = 'failed';
  byId('backend-used', HTMLElement).textContent = `backend: ${choice} did not start`;
  byId('provider', HTMLElement).textContent = 'see the message below';
}
