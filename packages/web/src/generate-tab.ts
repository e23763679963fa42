/** The "Text to image" tab: prompt, negative prompt, size, steps, CFG, seed → SdxsPipeline; a progress bar per stage. */
import type { PipelineProgress } from '@sdxs/pipeline';
import { byId, clearLog, logError } from './dom.js';
import { objectUrl } from './image-io.js';
import { ProgressView, formatMs } from './progress.js';
import { currentSettings } from './settings.js';
import { runGenerate } from './tasks.js';

const STAGE_NAMES: Record<PipelineProgress['stage'], string> = {
  load: 'loading weights',
  download: 'downloading',
  compile: 'compiling',
  refine: 'refining the prompt',
  encode: 'encoding the prompt',
  denoise: 'denoising',
  decode: 'decoding',
  upscale: 'upscaling',
};

export function describeProgress(p: PipelineProgress): string {
  const unit = p.stage === 'load' ? ' tensors' : p.stage === 'denoise' ? ' steps' : '';
  return `${STAGE_NAMES[p.stage]}${p.detail ? ` (${p.detail})` : ''}: ${p.done}/${p.total}${unit}`;
}

function numberField(form: HTMLFormElement, name: string): number {
  const v = Number((form.elements.namedItem(name) as HTMLInputElement).value);
  if (!Number.isFinite(v)) throw new Error(`${name} must be a number`);
  return v;
}

export function initGenerateTab(): void {
  const form = byId('generate-form', HTMLFormElement);
  const button = byId('generate-run', HTMLButtonElement);
  const progress = new ProgressView(byId('generate-progress', HTMLProgressElement), byId('generate-stage', HTMLElement));
  const out = byId('generate-output', HTMLImageElement);
  const link = byId('generate-download', HTMLAnchorElement);

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void (async () => {
      clearLog();
      button.disabled = true;
      link.hidden = true;
      try {
        const s = await currentSettings();
        const t0 = performance.now();
        const field = (name: string): string => (form.elements.namedItem(name) as HTMLInputElement | HTMLTextAreaElement).value;
        const seed = numberField(form, 'seed');
        const img = await runGenerate({
          modelUrl: s.modelUrl,
          dtype: s.dtype,
          prompt: field('prompt'),
          negativePrompt: field('negativePrompt'),
          width: numberField(form, 'width'),
          height: numberField(form, 'height'),
          steps: numberField(form, 'steps'),
          guidanceScale: numberField(form, 'guidanceScale'),
          seed,
          onProgress: (p) => progress.show(describeProgress(p), p.total ? p.done / p.total : undefined),
        });
        out.src = objectUrl(await img.png(), out.src);
        link.href = out.src;
        link.download = `sdxs-${seed}.png`;
        link.textContent = `Download ${img.width}×${img.height} PNG`;
        link.hidden = false;
        progress.done(`done on ${s.backend} in ${formatMs(performance.now() - t0)}`);
      } catch (e) {
        progress.show('failed', 0);
        logError(e);
      } finally {
        button.disabled = false;
      }
    })();
  });
}
