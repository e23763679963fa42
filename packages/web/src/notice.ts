/** The message box above the tools: failures with what to do about them, and warnings (e.g. WebGPU fell back). */
import { byId, el } from './dom.js';
import type { Explanation } from './diagnose.js';

export interface NoticeContent {
  level: 'info' | 'warn' | 'error';
  /** a stable name for tests and styling, e.g. 'offline', 'webgpu-fallback' */
  kind: string;
  title: string;
  advice: readonly string[];
  commands?: readonly string[];
  detail?: string;
}

export function showNotice(n: NoticeContent): void {
  const box = byId('notice', HTMLElement);
  const close = el('button', 'notice-close', '×');
  close.type = 'button';
  close.setAttribute('aria-label', 'Dismiss');
  close.addEventListener('click', clearNotice);
  box.replaceChildren(
    el('div', 'notice-head', '', el('div', 'notice-title', n.title), close),
    ...n.advice.map((a) => el('p', '', a)),
    ...(n.commands ?? []).map((c) => el('pre', '', '', el('code', '', c))),
  );
  if (n.detail && !n.advice.includes(n.detail)) box.append(el('details', '', '', el('summary', '', 'Error details'), el('pre', '', n.detail)));
  box.dataset.kind = n.level;
  box.dataset.reason = n.kind;
  box.hidden = false;
}

export function showExplanation(x: Explanation): void {
  showNotice({ level: x.kind === 'cancelled' ? 'info' : 'error', kind: x.kind, title: x.title, advice: x.advice, commands: x.commands, detail: x.detail });
}

export function clearNotice(): void {
  const box = byId('notice', HTMLElement);
  box.hidden = true;
  box.replaceChildren();
  delete box.dataset.kind;
  delete box.dataset.reason;
}
