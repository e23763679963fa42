/** The results: one card per image with its parameters, the time taken, a PNG download and (upscales) a compare button. */
import { byId, el } from './dom.js';
import { formatMs } from './eta.js';

export interface GalleryEntry {
  kind: 'generate' | 'upscale';
  /** the prompt, or the upscaled file's name */
  title: string;
  png: Uint8Array;
  width: number;
  height: number;
  /** whether the image has an alpha channel (its thumbnail then sits on a transparency checkerboard) */
  alpha: boolean;
  /** label → value, in order */
  params: readonly (readonly [string, string])[];
  ms: number;
  filename: string;
  /** an upscale's input, for the before/after view */
  before?: { url: string; width: number; height: number };
}

export interface GalleryItem {
  card: HTMLLIElement;
  url: string;
  entry: GalleryEntry;
}

let onCompare: ((item: GalleryItem) => void) | undefined;

/** What happens when an upscale card's "Compare" button is pressed. */
export function onGalleryCompare(f: (item: GalleryItem) => void): void {
  onCompare = f;
}

function syncEmpty(): void {
  const list = byId('gallery', HTMLOListElement);
  byId('gallery-empty', HTMLElement).hidden = list.children.length > 0;
}

/** Adds a card at the front of the gallery; its object URLs are revoked when it is removed. */
export function addToGallery(entry: GalleryEntry): GalleryItem {
  const list = byId('gallery', HTMLOListElement);
  const url = URL.createObjectURL(new Blob([entry.png as BlobPart], { type: 'image/png' }));
  const card = el('li', 'result');
  card.dataset.kind = entry.kind;
  card.dataset.alpha = String(entry.alpha);
  const item: GalleryItem = { card, url, entry };

  const img = el('img');
  img.src = url;
  img.alt = entry.kind === 'generate' ? `generated: ${entry.title}` : `${entry.title}, upscaled 2×`;
  img.width = entry.width;
  img.height = entry.height;

  const params = el('dl', 'result-params');
  for (const [k, v] of [...entry.params, ['time', formatMs(entry.ms)] as const]) params.append(el('dt', '', k), el('dd', '', v));

  const download = el('a', 'button download', 'Download PNG');
  download.href = url;
  download.download = entry.filename;
  download.title = `${entry.filename}, ${entry.width}×${entry.height}`;
  const actions = el('div', 'result-actions', '', download);
  if (entry.before) {
    const compare = el('button', 'button compare-button', 'Compare');
    compare.type = 'button';
    compare.addEventListener('click', () => onCompare?.(item));
    actions.append(compare);
  }
  const remove = el('button', 'button remove', 'Remove');
  remove.type = 'button';
  remove.addEventListener('click', () => {
    card.remove();
    URL.revokeObjectURL(url);
    if (entry.before) URL.revokeObjectURL(entry.before.url);
    syncEmpty();
  });
  actions.append(remove);

  const kind = el('span', 'result-kind', entry.kind === 'generate' ? 'Text to image' : 'Upscale 2×');
  card.append(el('div', 'result-image', '', img), el('div', 'result-body', '', kind, el('div', 'result-title', entry.title), params, actions));
  list.prepend(card);
  syncEmpty();
  return item;
}

/** A download name from free text: lowercase words joined by '-', at most `max` characters. */
export function slug(text: string, max = 40): string {
  const s = text
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^\p{L}\p{N}]+/gu, '-')
    .replace(/^-+|-+$/g, '');
  return s.slice(0, max).replace(/-+$/, '') || 'image';
}
