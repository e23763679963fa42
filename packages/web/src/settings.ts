/** The shared settings (model URL, backend, weight dtype) and starting the chosen backend in the model worker. */
import { SdxsWorkerError, type SdxsBackendInfo, type SdxsProgress, type WeightDtype } from '@sdxs/pipeline/worker-client';
import { isBackendChoice, isBackendName, type BackendChoice, type BackendName } from './auto-order.js';
import { BackendStartError } from './diagnose.js';
import { byId } from './dom.js';
import { absoluteModelUrl, modelUrlFromQuery } from './model-url.js';
import { pageClient } from './page-client.js';
import { showBackend, showBackendFailed } from './status-line.js';

export type { WeightDtype };

export interface Settings {
  modelUrl: string;
  dtype: WeightDtype;
  backend: BackendName;
}

/** Fill the controls from the query string (`?model=`, `?backend=`, `?dtype=`). */
export function initSettings(): void {
  const q = new URLSearchParams(location.search);
  byId('model-url', HTMLInputElement).value = modelUrlFromQuery(location.search, location.href);
  const backend = q.get('backend');
  if (isBackendChoice(backend)) byId('backend', HTMLSelectElement).value = backend;
  const dtype = q.get('dtype');
  if (dtype === 'float32' || dtype === 'float16') byId('dtype', HTMLSelectElement).value = dtype;
}

/** A backend the worker started (by request or for a job): the status line shows it. */
function shown(info: SdxsBackendInfo, fallbackReason: string | undefined): BackendName {
  const name = info.name;
  if (!isBackendName(name)) throw new Error(`the model worker started an unknown backend '${name}'`);
  if (info.started) showBackend(info, fallbackReason);
  return name;
}

/** Start (or switch to) a backend in the model worker; switching frees the loaded models. */
export async function useBackend(choice: BackendChoice): Promise<BackendName> {
  const { client, fallbackReason } = await pageClient();
  try {
    return shown(await client.useBackend(choice), fallbackReason);
  } catch (e) {
    showBackendFailed(choice);
    throw e instanceof SdxsWorkerError && e.kind === 'backend-start' ? new BackendStartError(e.failed) : e;
  }
}

/** A job's progress event that says it started a backend (a job that named none, before any ran) reaches the status line. */
export function noteJobBackend(e: SdxsProgress): void {
  if (e.kind === 'backend') void pageClient().then(({ fallbackReason }) => shown(e.info, fallbackReason));
}

/** The model folder URL in the field, made absolute against the page. */
export function modelUrlSetting(): string {
  return absoluteModelUrl(byId('model-url', HTMLInputElement).value, location.href);
}

/** The current settings, with the chosen backend started. */
export async function currentSettings(): Promise<Settings> {
  const choice = byId('backend', HTMLSelectElement).value;
  const backend = await useBackend(isBackendChoice(choice) ? choice : 'auto');
  const dtype = byId('dtype', HTMLSelectElement).value === 'float32' ? 'float32' : 'float16';
  return { modelUrl: modelUrlSetting(), dtype, backend };
}
