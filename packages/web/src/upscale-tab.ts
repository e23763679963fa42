/** The "Upscale 2x" tab: a dropped or picked image → exactly 2W x 2H, shown before/after and added to the results. */
import { showCompare } from './compare.js';
import { PageInputError, explainFailure } from './diagnose.js';
import { byId } from './dom.js';
import { initDropZone } from './drop-zone.js';
import { addToGallery, onGalleryCompare, type GalleryItem } from './gallery.js';
import { fileToRaster } from './image-io.js';
import { isBusy, onBusyChange, runJob } from './job.js';
import { showExplanation } from './notice.js';
import { pageClient } from './page-client.js';
import type { ProgressUpdate } from './progress.js';
import { noteJobBackend } from './settings.js';

function compareItem(item: GalleryItem): void {
  const { entry } = item;
  if (!entry.before) return;
  showCompare({
    before: entry.before.url,
    after: item.url,
    width: entry.width,
    height: entry.height,
    caption: `${entry.title}: ${entry.before.width}×${entry.before.height} → ${entry.width}×${entry.height}`,
  });
}

/** 'vae.encode' → 'Compiling the VAE encoder': ONNX Runtime builds the graph for the tile size (once per size). */
export function compileStage(label: string): string {
  const part = label === 'vae.encode' ? 'the VAE encoder' : label === 'vae.decode' ? 'the VAE decoder' : label;
  return `Compiling ${part}`;
}

async function upscaleFile(file: File): Promise<void> {
  const info = byId('upscale-info', HTMLElement);
  let image: Awaited<ReturnType<typeof fileToRaster>>;
  try {
    image = await fileToRaster(file);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    // createImageBitmap's 'InvalidStateError' / 'could not be decoded': not an image the browser reads
    const message = /decode|InvalidState|source image/i.test(why) ? `${file.name} is not an image this browser can decode (${why}).` : why;
    showExplanation(explainFailure(new PageInputError(message, { cause: e }), { modelUrl: '', file: '', pageOrigin: location.origin }));
    return;
  }
  info.textContent = `${file.name}: ${image.width}×${image.height}, ${image.channels === 4 ? 'RGBA' : 'RGB'} → ${2 * image.width}×${2 * image.height}`;
  const done = await runJob({
    startText: 'Starting the backend',
    probeFile: 'vae/config.json',
    async work({ signal, settings, progress }) {
      progress.update({ stage: `Loading the VAE (${settings.backend})`, done: 0, total: 0 });
      // the last tile report, shown again when a compile in between ends
      let tiles: ProgressUpdate = { stage: 'Upscaling', done: 0, total: 0 };
      const { client } = await pageClient();
      // the pixels move to the model worker (this page keeps only the size); the PNG is encoded there too
      const done = await client.upscale(
        { modelUrl: settings.modelUrl, dtype: settings.dtype, image, png: true },
        {
          signal,
          transferInput: true,
          onProgress: (e) => {
            noteJobBackend(e);
            if (e.kind === 'load') progress.update({ stage: 'Loading the VAE weights', done: e.loaded, total: e.total, unit: 'tensors' });
            else if (e.kind === 'loaded') progress.update(tiles);
            else if (e.kind === 'compile') progress.update(e.phase === 'start' ? { stage: compileStage(e.label), done: 0, total: 0 } : tiles);
            else if (e.kind === 'tile') {
              tiles = { stage: e.stage === 'encode' ? 'Encoding tiles' : 'Decoding tiles', done: e.done, total: e.total, unit: 'tile', fraction: e.fraction, etaMs: e.etaMs };
              progress.update(tiles);
            }
          },
        },
      );
      if (!done.png) throw new Error('the model worker sent no PNG');
      return { out: done.image, png: done.png };
    },
    // the time taken is in the progress card's foot ('took 1.2 s') and on the result's card
    doneText: ({ out }, _ms, s) => `Done: ${out.width}×${out.height} on ${s.backend}`,
  });
  if (!done) return;
  const { out, png } = done.result;
  const base = file.name.replace(/\.[^.]*$/, '') || 'image';
  const item = addToGallery({
    kind: 'upscale',
    title: file.name,
    png,
    width: out.width,
    height: out.height,
    alpha: out.channels === 4,
    params: [
      ['source', `${image.width}×${image.height} ${image.channels === 4 ? 'RGBA' : 'RGB'}`],
      ['result', `${out.width}×${out.height}`],
      ['backend', done.settings.backend],
      ['weights', done.settings.dtype === 'float16' ? '16-bit' : '32-bit'],
    ],
    ms: done.ms,
    filename: `${base}-2x.png`,
    before: { url: URL.createObjectURL(file), width: image.width, height: image.height },
  });
  compareItem(item);
}

export function initUpscaleTab(): void {
  const zone = byId('drop-zone', HTMLLabelElement);
  const input = byId('upscale-file', HTMLInputElement);
  onBusyChange((busy) => {
    zone.setAttribute('aria-disabled', String(busy));
    input.disabled = busy;
  });
  onGalleryCompare((item) => {
    byId('tab-upscale', HTMLButtonElement).click();
    compareItem(item);
  });
  initDropZone((file) => void upscaleFile(file), () => !isBusy());
}
