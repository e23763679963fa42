/**
 * The "Text to image" tab: prompt, negative prompt, an optional image prompt, size, steps, CFG, seed → SdxsPipeline;
 * each result goes to the gallery.
 */
import type { PipelineProgress } from '@sdxs/pipeline';
import type { SdxsGenerateRequest } from '@sdxs/pipeline/worker-client';
import { byId } from './dom.js';
import { addToGallery, slug } from './gallery.js';
import { fileToRaster } from './image-io.js';
import { onBusyChange, runJob } from './job.js';
import { pageClient } from './page-client.js';
import type { ProgressUpdate } from './progress.js';
import { noteJobBackend } from './settings.js';

const STAGE_NAMES: Record<PipelineProgress['stage'], string> = {
  load: 'Loading weights',
  download: 'Downloading',
  compile: 'Compiling',
  refine: 'Refining the prompt',
  encode: 'Encoding the prompt',
  denoise: 'Denoising',
  decode: 'Decoding',
  upscale: 'Upscaling',
};

const UNITS: Partial<Record<PipelineProgress['stage'], string>> = { load: 'tensors', denoise: 'step', decode: 'image', upscale: 'tile' };

/** A pipeline event as a progress line: 'Loading weights (unet)', step 3/40. A finished compile shows no bar. */
export function progressUpdate(p: PipelineProgress): ProgressUpdate {
  const stage = `${STAGE_NAMES[p.stage]}${p.detail ? ` (${p.detail})` : ''}`;
  if (p.stage === 'compile' || p.stage === 'encode') return { stage, done: 0, total: 0 };
  return { stage, done: p.done, total: p.total, unit: UNITS[p.stage] };
}

type Params = Pick<SdxsGenerateRequest, 'prompt' | 'width' | 'height' | 'steps' | 'guidanceScale' | 'seed'> & {
  negativePrompt: string;
  /** the picked image-prompt file, decoded when the job starts */
  imagePromptFile?: File;
};

function readForm(form: HTMLFormElement): Params {
  const picked = (form.elements.namedItem('imagePrompt') as HTMLInputElement | null)?.files?.[0];
  const field = (name: string): string => (form.elements.namedItem(name) as HTMLInputElement | HTMLTextAreaElement).value;
  const num = (name: string): number => {
    const v = Number(field(name));
    if (field(name).trim() === '' || !Number.isFinite(v)) throw new Error(`${name} must be a number`);
    return v;
  };
  return {
    prompt: field('prompt'),
    negativePrompt: field('negativePrompt'),
    width: num('width'),
    height: num('height'),
    steps: num('steps'),
    guidanceScale: num('guidanceScale'),
    seed: num('seed'),
    ...(picked ? { imagePromptFile: picked } : {}),
  };
}

async function generate(params: Params): Promise<void> {
  const done = await runJob({
    startText: 'Starting the backend',
    probeFile: 'model_index.json',
    async work({ signal, settings, progress }) {
      const { imagePromptFile, ...rest } = params;
      const imagePrompt = imagePromptFile ? await fileToRaster(imagePromptFile) : undefined;
      const { client } = await pageClient();
      const img = await client.generate(
        { ...rest, imagePrompt, modelUrl: settings.modelUrl, dtype: settings.dtype },
        {
          signal,
          transferInput: true,
          onProgress: (e) => {
            noteJobBackend(e);
            if (e.kind === 'pipeline') progress.update(progressUpdate(e));
          },
        },
      );
      return { img, png: img.png };
    },
    // the time taken is in the progress card's foot ('took 1.2 s') and on the result's card
    doneText: ({ img }, _ms, s) => `Done: ${img.width}×${img.height} on ${s.backend}`,
  });
  if (!done) return;
  const { img, png } = done.result;
  addToGallery({
    kind: 'generate',
    title: params.imagePromptFile ? `[image: ${params.imagePromptFile.name}] ${params.prompt}`.trim() : params.prompt,
    png,
    width: img.width,
    height: img.height,
    alpha: false,
    params: [
      ...(params.imagePromptFile ? [['image prompt', params.imagePromptFile.name] as const] : []),
      ...(params.negativePrompt ? [['negative', params.negativePrompt] as const] : []),
      ['size', `${img.width}×${img.height}`],
      ['steps', String(params.steps)],
      ['cfg', String(params.guidanceScale)],
      ['seed', String(params.seed)],
      ['backend', done.settings.backend],
      ['weights', done.settings.dtype === 'float16' ? '16-bit' : '32-bit'],
    ],
    ms: done.ms,
    filename: `sdxs-${slug(params.prompt)}-${params.seed}.png`,
  });
}

export function initGenerateTab(): void {
  const form = byId('generate-form', HTMLFormElement);
  const button = byId('generate-run', HTMLButtonElement);
  onBusyChange((busy) => {
    button.disabled = busy;
    button.textContent = busy ? 'Working…' : 'Generate';
  });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    let params: Params;
    try {
      params = readForm(form);
    } catch (e) {
      form.reportValidity();
      console.error(e);
      return;
    }
    void generate(params);
  });
}
