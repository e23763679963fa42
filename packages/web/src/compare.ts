/** The before/after view of an upscale: the original scaled to the result's size under the 2× result, split by a draggable divider. */
import { byId, el } from './dom.js';

export interface CompareImages {
  before: string;
  after: string;
  /** the result's size */
  width: number;
  height: number;
  caption: string;
}

/** Shows `images` in the upscale tab (replacing the empty state or the previous pair). */
export function showCompare(images: CompareImages): HTMLElement {
  const host = byId('compare-host', HTMLElement);
  const view = el('figure', 'compare');
  view.id = 'compare';
  view.dataset.testid = 'compare';
  view.style.aspectRatio = `${images.width} / ${images.height}`;
  // small images are easier to judge with visible pixels; large ones fit the column
  view.style.width = `min(100%, ${Math.max(images.width, 320)}px, calc(70vh * ${images.width / images.height}))`;
  if (images.width < 320) view.classList.add('pixelated');

  const after = el('img', 'compare-after');
  after.src = images.after;
  after.alt = 'after: upscaled 2×';
  const before = el('img', 'compare-before');
  before.src = images.before;
  before.alt = 'before: the original, scaled to the same size';
  const range = el('input', 'compare-range');
  range.type = 'range';
  range.min = '0';
  range.max = '100';
  range.step = '1';
  range.value = '50';
  range.setAttribute('aria-label', 'Divider between before and after');
  const setPos = (): void => view.style.setProperty('--pos', `${range.value}%`);
  range.addEventListener('input', setPos);
  setPos();

  view.append(after, before, el('span', 'compare-label before', 'Before'), el('span', 'compare-label after', 'After 2×'), el('div', 'compare-divider'), range);
  const caption = el('p', 'compare-caption', images.caption);
  host.replaceChildren(el('div', '', '', view, caption));
  return view;
}
