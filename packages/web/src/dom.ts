/** The element with `id`, of the expected type (a missing element is a bug in index.html). */
export function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const el = document.getElementById(id);
  if (!(el instanceof type)) throw new Error(`#${id} is missing or not a ${type.name}`);
  return el;
}

export function logError(e: unknown): void {
  const log = document.getElementById('log');
  if (log) log.textContent = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  console.error(e);
}

export function clearLog(): void {
  const log = document.getElementById('log');
  if (log) log.textContent = '';
}
