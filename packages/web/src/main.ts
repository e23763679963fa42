/** Page entry: tabs, shared settings, the status line, the two tools, and the `window.sdxs` hook. */
import { byId } from './dom.js';
import { initGenerateTab } from './generate-tab.js';
import { initSettings } from './settings.js';
import { initStatusLine } from './status-line.js';
import { installTestHook } from './test-hook.js';
import { initUpscaleTab } from './upscale-tab.js';

function initTabs(): void {
  const tabs = [...document.querySelectorAll<HTMLButtonElement>('[role="tab"]')];
  const select = (tab: HTMLButtonElement): void => {
    for (const t of tabs) {
      const on = t === tab;
      t.setAttribute('aria-selected', String(on));
      t.tabIndex = on ? 0 : -1;
      byId(t.getAttribute('aria-controls') ?? '', HTMLElement).hidden = !on;
    }
  };
  for (const [i, t] of tabs.entries()) {
    t.addEventListener('click', () => select(t));
    // arrow keys move between tabs (WAI-ARIA tabs pattern)
    t.addEventListener('keydown', (ev) => {
      const step = ev.key === 'ArrowRight' ? 1 : ev.key === 'ArrowLeft' ? -1 : 0;
      if (!step) return;
      const next = tabs[(i + step + tabs.length) % tabs.length]!;
      select(next);
      next.focus();
    });
  }
  select(location.hash === '#generate' ? byId('tab-generate', HTMLButtonElement) : byId('tab-upscale', HTMLButtonElement));
}

initTabs();
initSettings();
initStatusLine();
initUpscaleTab();
initGenerateTab();
installTestHook();
document.documentElement.dataset.ready = 'true';
