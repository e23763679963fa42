/** The "Upscale 2x" tab: pick a file → 2x result, progress while weights load and tiles run, download link. */
import { byId, clearLog, logError } from './dom.js';
import { fileToRaster, objectUrl, rasterToPng } from './image-io.js';
import { ProgressView, formatMs } from './progress.js';
import { currentSettings } from './settings.js';
import { runUpscale } from './tasks.js';

export function initUpscaleTab(): void {
  const input = byId('upscale-file', HTMLInputElement);
  const progress = new ProgressView(byId('upscale-progress', HTMLProgressElement), byId('upscale-stage', HTMLElement));
  const info = byId('upscale-info', HTMLElement);
  const before = byId('upscale-input', HTMLImageElement);
  const after = byId('upscale-output', HTMLImageElement);
  const link = byId('upscale-download', HTMLAnchorElement);

  input.addEventListener('change', () => {
    const file = input.files?.[0];
    if (!file) return;
    void (async () => {
      clearLog();
      link.hidden = true;
      try {
        const image = await fileToRaster(file);
        before.src = objectUrl(file, before.src);
        info.textContent = `${file.name}: ${image.width}×${image.height}, ${image.channels === 4 ? 'RGBA' : 'RGB'}`;
        const s = await currentSettings();
        const t0 = performance.now();
        progress.show(`loading weights (${s.backend})`, undefined);
        const out = await runUpscale({
          modelUrl: s.modelUrl,
          dtype: s.dtype,
          image,
          onLoad: (p) => progress.show(`loading weights: ${p.loaded}/${p.total} tensors`, p.total ? p.loaded / p.total : undefined),
          onTile: (p) => progress.show(`${p.stage} tile ${p.done}/${p.total}`, p.fraction),
        });
        const png = await rasterToPng(out);
        after.src = objectUrl(png, after.src);
        link.href = after.src;
        link.download = `${file.name.replace(/\.[^.]*$/, '')}-2x.png`;
        link.textContent = `Download ${out.width}×${out.height} PNG`;
        link.hidden = false;
        progress.done(`done on ${s.backend} in ${formatMs(performance.now() - t0)}: ${out.width}×${out.height}`);
      } catch (e) {
        progress.show('failed', 0);
        logError(e);
      }
    })();
  });
}
