/** Drag and drop (and the file picker, and pasting) of one image onto the upscale tab. */
import { byId } from './dom.js';

/**
 * Calls `onFile` with a dropped, picked or pasted file. Files dropped elsewhere on the page are caught
 * too, so a missed drop does not navigate away from the page.
 */
export function initDropZone(onFile: (file: File) => void, accepting: () => boolean): void {
  const zone = byId('drop-zone', HTMLLabelElement);
  const input = byId('upscale-file', HTMLInputElement);
  let depth = 0;

  const firstFile = (dt: DataTransfer | null): File | undefined => (dt?.files.length ? dt.files[0] : undefined);

  input.addEventListener('change', () => {
    const file = input.files?.[0];
    // the same file picked twice must fire 'change' again
    input.value = '';
    if (file) onFile(file);
  });
  zone.addEventListener('dragenter', (ev) => {
    ev.preventDefault();
    depth++;
    zone.classList.add('dragging');
  });
  zone.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) zone.classList.remove('dragging');
  });
  zone.addEventListener('dragover', (ev) => {
    ev.preventDefault();
    if (ev.dataTransfer) ev.dataTransfer.dropEffect = accepting() ? 'copy' : 'none';
  });
  zone.addEventListener('drop', (ev) => {
    ev.preventDefault();
    ev.stopPropagation();
    depth = 0;
    zone.classList.remove('dragging');
    const file = firstFile(ev.dataTransfer);
    if (file && accepting()) onFile(file);
  });
  // a drop that misses the zone would otherwise open the file in the tab
  window.addEventListener('dragover', (ev) => ev.preventDefault());
  window.addEventListener('drop', (ev) => {
    ev.preventDefault();
    const file = firstFile(ev.dataTransfer);
    if (file && accepting() && !byId('panel-upscale', HTMLElement).hidden) onFile(file);
  });
  document.addEventListener('paste', (ev) => {
    const file = [...(ev.clipboardData?.files ?? [])].find((f) => f.type.startsWith('image/'));
    if (file && accepting() && !byId('panel-upscale', HTMLElement).hidden) onFile(file);
  });
}
