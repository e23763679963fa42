/** Where the page loads weights from: `?model=<url>`, else the hub's resolve URL of AiArtLab/sdxs-1b. */
export const DEFAULT_MODEL_URL = 'https://huggingface.co/AiArtLab/sdxs-1b/resolve/main';

/** The model folder URL named by the query string (made absolute against the page), or the default. */
export function modelUrlFromQuery(search: string, base: string): string {
  const given = new URLSearchParams(search).get('model');
  return absoluteModelUrl(given && given.trim() ? given : DEFAULT_MODEL_URL, base);
}

/** A folder URL without a trailing slash; relative URLs (e.g. `/model`) resolve against the page. */
export function absoluteModelUrl(url: string, base: string): string {
  return new URL(url.trim(), base).href.replace(/\/+$/, '');
}
