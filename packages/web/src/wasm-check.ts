/**
 * Whether a WebAssembly file is really served at a URL: dev servers and single-page-app hosts answer a
 * missing file with their index.html (status 200), and the runtime then fails later with "expected magic
 * word 00 61 73 6d, found 3c 21 64 6f". Checking the first four bytes up front lets `auto` move on to
 * the next backend with a message that says what is wrong. DOM-free.
 */

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d] as const;

const hex = (bytes: ArrayLike<number>): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');

/** The problem with the file at `url` (not found, HTML instead of wasm, ...), or null when it starts with the wasm magic word. */
export async function wasmFileProblem(url: string, fetchFn: typeof fetch = globalThis.fetch): Promise<string | null> {
  let res: Response;
  try {
    // only the magic word is needed; servers without Range support send the whole file, which is then cached
    res = await fetchFn(url, { headers: { Range: 'bytes=0-3' } });
  } catch (e) {
    return `${url} could not be fetched (${e instanceof Error ? e.message : String(e)})`;
  }
  if (!res.ok) return `${url} answered ${res.status}`;
  const reader = res.body?.getReader();
  const head: number[] = [];
  if (reader) {
    while (head.length < 4) {
      const { done, value } = await reader.read();
      if (done) break;
      head.push(...value.subarray(0, 4 - head.length));
    }
    await reader.cancel().catch(() => undefined);
  }
  if (WASM_MAGIC.every((b, i) => head[i] === b)) return null;
  const type = res.headers.get('content-type') ?? 'no content type';
  const html = head[0] === 0x3c ? ' (an HTML page: the server does not have the file and answered its index page)' : '';
  return `${url} is not a WebAssembly file: it starts with ${hex(head) || 'nothing'} instead of ${hex(WASM_MAGIC)}, ${type}${html}`;
}
