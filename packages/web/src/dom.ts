/** The element with `id`, of the expected type (a missing element is a bug in index.html). */
export function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const el = document.getElementById(id);
  if (!(el instanceof type)) throw new Error(`#${id} is missing or not a ${type.name}`);
  return el;
}

/** A new element with a class and text (children appended after). */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, className = '', text = '', ...children: Node[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text) e.textContent = text;
  e.append(...children);
  return e;
}

/** Splits status text into phrases at ', ' and ' · ' (the separators stay text between them). DOM-free. */
export function phrases(text: string): string[] {
  return text.split(/(, | · )/).filter((p) => p !== '');
}

/**
 * Sets `e`'s text as `.phrase` spans (white-space: nowrap in the stylesheet) joined by their separators,
 * so a narrow screen wraps the line between phrases, not inside one; `textContent` stays `text`.
 */
export function setPhraseText(e: HTMLElement, text: string): void {
  e.replaceChildren(...phrases(text).map((p) => (/^(, | · )$/.test(p) ? document.createTextNode(p) : el('span', 'phrase', p))));
}
