/** The WebGPU adapter this thread sees (the page's for the status line, the worker's for `auto`). DOM-free. */
import { adapterLabel, isSoftwareAdapter, type AdapterFacts } from './auto-order.js';

interface GpuLike {
  requestAdapter(): Promise<(AdapterFacts & object) | null>;
}

export interface WebGpuAdapter {
  software: boolean;
  /** e.g. 'google swiftshader' */
  label: string;
}

let adapterAsked: Promise<WebGpuAdapter | null> | undefined;

/** The default WebGPU adapter (asked once per thread), or null without WebGPU. */
export function webgpuAdapter(): Promise<WebGpuAdapter | null> {
  adapterAsked ??= (async () => {
    const gpu = (globalThis.navigator as (Navigator & { gpu?: GpuLike }) | undefined)?.gpu;
    try {
      const a = await gpu?.requestAdapter();
      return a ? { software: isSoftwareAdapter(a), label: adapterLabel(a) } : null;
    } catch {
      return null;
    }
  })();
  return adapterAsked;
}
