/** The shared settings (model URL, backend, weight dtype) and starting the chosen backend. */
import { autoBackends, isBackendChoice, startBackend, type BackendChoice, type BackendName } from './backend.js';
import { byId } from './dom.js';
import { absoluteModelUrl, modelUrlFromQuery } from './model-url.js';
import { releaseAll, type WeightDtype } from './models.js';
import { showBackend, showBackendFailed } from './status-line.js';

export interface Settings {
  modelUrl: string;
  dtype: WeightDtype;
  backend: BackendName;
}

let started: { choice: BackendChoice; name: BackendName } | null = null;

/** Fill the controls from the query string (`?model=`, `?backend=`, `?dtype=`). */
export function initSettings(): void {
  const q = new URLSearchParams(location.search);
  byId('model-url', HTMLInputElement).value = modelUrlFromQuery(location.search, location.href);
  const backend = q.get('backend');
  if (isBackendChoice(backend)) byId('backend', HTMLSelectElement).value = backend;
  const dtype = q.get('dtype');
  if (dtype === 'float32' || dtype === 'float16') byId('dtype', HTMLSelectElement).value = dtype;
}

/** Start (or switch to) a backend; switching frees the loaded models. */
export async function useBackend(choice: BackendChoice): Promise<BackendName> {
  if (started?.choice === choice) return started.name;
  // a choice that resolves to the backend already running keeps it (and the loaded models): 'auto' cannot beat the first of its order
  if (started && (started.name === choice || (choice === 'auto' && started.name === (await autoBackends())[0]))) {
    started = { choice, name: started.name };
    return started.name;
  }
  if (started) await releaseAll();
  started = null;
  try {
    const { name, failed, passedOver } = await startBackend(choice);
    started = { choice, name };
    showBackend(choice, name, failed, passedOver);
    return name;
  } catch (e) {
    showBackendFailed(choice);
    throw e;
  }
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
