/** The header's status pill: the backend in use and what runs it (ONNX Runtime's execution provider, TensorFlow.js, ...). */
import type { SdxsBackendInfo } from '@sdxs/pipeline/worker-client';
import { BACKEND_PROVIDERS, isBackendName, type BackendChoice } from './auto-order.js';
import { byId, setPhraseText } from './dom.js';
import { showNotice } from './notice.js';
import { webgpuAdapter } from './webgpu-adapter.js';

/** Before the first run: says whether WebGPU is there at all, and whether it is a software one. */
export function initStatusLine(): void {
  const provider = byId('provider', HTMLElement);
  if (!window.isSecureContext) setPhraseText(provider, 'WebGPU needs http://localhost or HTTPS: CPU only here');
  else if (!('gpu' in navigator)) setPhraseText(provider, 'no WebGPU in this browser: CPU (wasm) only');
  else {
    setPhraseText(provider, 'WebGPU available · starts on the first run');
    void webgpuAdapter().then((a) => {
      if (byId('status', HTMLElement).dataset.backend) return;
      if (!a) setPhraseText(provider, 'WebGPU has no adapter here: CPU (wasm) only');
      else if (a.software) setPhraseText(provider, `software WebGPU only (${a.label || 'no GPU'}) · auto runs on the CPU`);
    });
  }
}

/**
 * A backend started (in the model worker, or on the page's thread when `fallbackReason` says why there is no
 * worker): its name, its provider and compute precision, and a notice when 'auto' had to skip or pass over WebGPU.
 */
export function showBackend(info: SdxsBackendInfo, fallbackReason?: string): void {
  const { name, failed, passedOver, compute } = info;
  const choice = info.choice as BackendChoice;
  if (!isBackendName(name)) return;
  const status = byId('status', HTMLElement);
  const label = byId('backend-used', HTMLElement);
  const provider = byId('provider', HTMLElement);
  const { provider: what, gpu: onGpu } = BACKEND_PROVIDERS[name];
  label.textContent = `backend: ${name}`;
  const notFirst = [...failed, ...passedOver];
  const where = info.thread === 'worker' ? 'runs in a Web Worker (the page stays responsive)' : `runs on the page's thread: ${fallbackReason ?? 'no Web Worker'}`;
  label.title = [where, ...(notFirst.length ? [`not started first:\n${notFirst.join('\n')}`] : [])].join('\n');
  // the compiled WebGPU backend computes in float16 where the adapter has shader-f16, else in float32 from
  // 16-bit weights: the pill says which
  const precision = name === 'ort-webgpu' ? ` · ${compute === 'float16' ? 'float16 compute (shader-f16)' : 'float32 compute, 16-bit weights'}` : '';
  // without a worker the pill says so: runs block the page between steps and tiles
  const thread = info.thread === 'worker' ? '' : " · on the page's thread (no worker)";
  setPhraseText(provider, `${what}${precision}${thread}`);
  status.dataset.state = onGpu ? 'gpu' : 'cpu';
  status.dataset.backend = name;
  status.dataset.compute = compute;
  status.dataset.thread = info.thread;
  const adapter = info.adapter;
  if (onGpu && adapter?.label) setPhraseText(provider, `${what}${precision} · ${adapter.label}${adapter.software ? ' (software)' : ''}${thread}`);
  const gpuFailed = failed.filter((f) => /webgpu/.test(f));
  if (choice === 'auto' && !onGpu && passedOver.length) {
    showNotice({
      level: 'info',
      kind: 'webgpu-software',
      title: `Only a software WebGPU adapter here, so the page runs on ${name}`,
      advice: [
        `${passedOver.join('; ')}.`,
        'A software adapter renders on the CPU and is far slower than the CPU backends. To use it anyway, choose ONNX Runtime · WebGPU under Backend; for speed use a machine with a GPU and a browser with hardware WebGPU.',
      ],
    });
  } else if (choice === 'auto' && !onGpu && gpuFailed.length) {
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
  setPhraseText(byId('provider', HTMLElement), 'see the message below');
}
