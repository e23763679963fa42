/** Page entry: tabs, shared settings, the two tools, and the `window.sdxs` hook. */
import { byId } from './dom.js';
import { initGenerateTab } from './generate-tab.js';
import { initSettings } from './settings.js';
import { installTestHook } from './test-hook.js';
import { initUpscaleTab } from './upscale-tab.js';

function initTabs(): void {
  const tabs = [...document.querySelectorAll<HTMLButtonElement>('[role="tab"]')];
  const select = (tab: HTMLButtonElement): void => {
    for (const t of tabs) {
      const on = t === tab;
      t.setAttribute('aria-selected', String(on));
      byId(t.getAttribute('aria-controls') ?? '', HTMLElement).hidden = !on;
    }
  };
  for (const t of tabs) t.addEventListener('click', () => select(t));
  if (location.hash === '#generate') select(byId('tab-generate', HTMLButtonElement));
}

initTabs();
initSettings();
initUpscaleTab();
initGenerateTab();
installTestHook();
document.documentElement.dataset.ready = 'true';
