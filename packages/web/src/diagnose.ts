/**
 * Failures turned into messages that say what went wrong and what to do: an unreachable hub, a model folder the
 * server does not serve (404, or the dev server's HTML page instead of JSON), running out of memory, WebGPU
 * missing. DOM-free, so Node tests check the wording.
 */

/** What a GET of one small model file (a config) says about the model folder. */
export type ProbeResult =
  | { kind: 'ok' }
  | { kind: 'unreachable'; message: string }
  | { kind: 'not-found'; status: number }
  | { kind: 'forbidden'; status: number }
  | { kind: 'html'; status: number }
  | { kind: 'not-json'; status: number }
  | { kind: 'http-error'; status: number };

/** Fetches `url` (a JSON config of the model folder) and classifies the answer; never throws. */
export async function probeModelFile(url: string, fetchFn: typeof fetch = globalThis.fetch): Promise<ProbeResult> {
  let res: Response;
  try {
    res = await fetchFn(url, { cache: 'no-store' });
  } catch (e) {
    return { kind: 'unreachable', message: e instanceof Error ? e.message : String(e) };
  }
  const status = res.status;
  if (status === 404 || status === 410) return { kind: 'not-found', status };
  if (status === 401 || status === 403) return { kind: 'forbidden', status };
  if (!res.ok) return { kind: 'http-error', status };
  const text = await res.text().catch(() => '');
  const type = res.headers.get('content-type') ?? '';
  if (/text\/html/i.test(type) || /^\s*</.test(text)) return { kind: 'html', status };
  try {
    JSON.parse(text);
  } catch {
    return { kind: 'not-json', status };
  }
  return { kind: 'ok' };
}

export type ExplanationKind = 'cancelled' | 'offline' | 'not-served' | 'forbidden' | 'memory' | 'webgpu' | 'input' | 'error';

export interface Explanation {
  kind: ExplanationKind;
  title: string;
  /** paragraphs, in order */
  advice: string[];
  /** shell commands worth copying */
  commands: string[];
  /** the error as thrown */
  detail: string;
}

export interface FailureContext {
  /** the model folder URL in use */
  modelUrl: string;
  /** the file probed (relative to the folder), e.g. `vae/config.json` */
  file: string;
  probe?: ProbeResult;
  /** the page's origin, e.g. `http://localhost:5173` */
  pageOrigin: string;
  /** navigator.onLine */
  online?: boolean;
}

/** An error about the user's input (a file that is not an image, too many pixels): shown as is, no probing. */
export class PageInputError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PageInputError';
  }
}

/** No backend (of those asked for) could start. */
export class BackendStartError extends Error {
  readonly failed: readonly string[];
  constructor(failed: readonly string[]) {
    super(`no tensor backend started:\n${failed.join('\n')}`);
    this.name = 'BackendStartError';
    this.failed = failed;
  }
}

const MEMORY = /out of memory|\boom\b|allocation failed|failed to allocate|could not allocate|cannot allocate|array buffer allocation|memory limit|device (?:was |is )?lost|maxBufferSize|maxStorageBufferBindingSize|exceeds the max/i;

export function errorText(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}

export function isAbort(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  return e.name === 'AbortError' || (e as { code?: unknown }).code === 'ABORTED';
}

/** Errors worth probing the model folder for (not cancellation, input problems, memory or backend start). */
export function needsProbe(e: unknown): boolean {
  return !isAbort(e) && !(e instanceof PageInputError) && !(e instanceof BackendStartError) && !MEMORY.test(errorText(e));
}

const HUB_HOST = /(^|\.)huggingface\.co$/i;
const TINY_MODEL = 'npx sdxs make-tiny-model packages/web/public/tiny-model';

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '';
  }
}

function notServed(ctx: FailureContext, what: string, detail: string): Explanation {
  const url = `${ctx.modelUrl}/${ctx.file}`;
  const sameOrigin = originOf(ctx.modelUrl) === ctx.pageOrigin;
  const advice = [`${url} ${what}, so the page cannot load the model from ${ctx.modelUrl}.`];
  if (sameOrigin) {
    advice.push(
      "Vite's dev server only serves files inside the project and the folders that server.fs.allow (vite.config.ts) permits; " +
        'for anything else it answers 404 or 403, or its index.html page instead of the JSON file.',
      'Put the model folder under packages/web/public/ and set the model URL to /<folder name>, or add its parent to server.fs.allow ' +
        'and use /@fs/<absolute path>, or serve the folder from any static server that answers Range requests (and sends CORS headers) and paste its URL.',
    );
  } else {
    advice.push('Check the URL: it must be the folder that holds model_index.json, vae/, unet/, text_encoder/ and tokenizer/ (for the hub: https://huggingface.co/<repo>/resolve/main).');
  }
  return { kind: 'not-served', title: "The model folder isn't being served", advice, commands: sameOrigin ? [TINY_MODEL] : [], detail };
}

/** The message for a failed run. `ctx.probe` (from probeModelFile) tells offline from unserved from other errors. */
export function explainFailure(e: unknown, ctx: FailureContext): Explanation {
  const detail = errorText(e);
  if (isAbort(e)) return { kind: 'cancelled', title: 'Cancelled', advice: ['The run was cancelled; nothing was added to the results.'], commands: [], detail };
  if (e instanceof PageInputError) return { kind: 'input', title: "This image can't be used", advice: [e.message], commands: [], detail };
  if (e instanceof BackendStartError) {
    return {
      kind: 'webgpu',
      title: 'The chosen backend did not start',
      advice: [
        `${e.failed.join('; ')}.`,
        'WebGPU needs a recent Chrome, Edge or Safari, a secure context (http://localhost or HTTPS) and a usable GPU. Pick "auto" to fall back to wasm, which works everywhere but is slower.',
      ],
      commands: [],
      detail,
    };
  }
  if ((e as { code?: unknown } | null)?.code === 'MEMORY' || MEMORY.test(detail)) {
    return {
      kind: 'memory',
      title: 'Out of memory',
      advice: [
        'The model or the image did not fit in the memory this browser tab may use.',
        'Try a smaller width and height, 16-bit weights, closing other tabs, or the compiled WebGPU backend on a machine with a dedicated GPU (the full model needs several GB). The wasm backends are limited to 4 GB.',
      ],
      commands: [],
      detail,
    };
  }
  const p = ctx.probe;
  const url = `${ctx.modelUrl}/${ctx.file}`;
  if (p?.kind === 'unreachable') {
    const hub = HUB_HOST.test(hostOf(ctx.modelUrl));
    const where = hub ? 'the Hugging Face hub' : hostOf(ctx.modelUrl);
    const reasons = ctx.online === false ? 'This browser is offline.' : `You may be offline, ${where} may be down or blocked, or it does not allow requests from this page (CORS).`;
    return {
      kind: 'offline',
      title: hub ? "Can't reach the Hugging Face hub" : `Can't reach ${where}`,
      advice: [
        `The page could not fetch ${url}. ${reasons}`,
        'Work offline with a local model folder: make a tiny test model (random weights, a few MB; its pictures are noise) or download AiArtLab/sdxs-1b into packages/web/public/, then set the model URL to /tiny-model (or the folder name).',
      ],
      commands: [TINY_MODEL],
      detail,
    };
  }
  if (p?.kind === 'not-found') return notServed(ctx, `answered ${p.status} (not found)`, detail);
  if (p?.kind === 'html') return notServed(ctx, 'returned an HTML page instead of JSON (a dev server fallback page)', detail);
  if (p?.kind === 'not-json') return notServed(ctx, 'is not valid JSON', detail);
  if (p?.kind === 'forbidden') {
    const sameOrigin = originOf(ctx.modelUrl) === ctx.pageOrigin;
    if (sameOrigin) return notServed(ctx, `answered ${p.status} (forbidden)`, detail);
    return {
      kind: 'forbidden',
      title: 'The model server refused access',
      advice: [`${url} answered ${p.status}. Gated or private repos need a token, which the page does not send: download the model and serve it locally instead.`],
      commands: [TINY_MODEL],
      detail,
    };
  }
  if (p?.kind === 'http-error') {
    return { kind: 'error', title: `The model server answered ${p.status}`, advice: [`${url} answered HTTP ${p.status}. Try again later, or use a local model folder.`], commands: [], detail };
  }
  return { kind: 'error', title: 'Something went wrong', advice: [detail], commands: [], detail };
}
