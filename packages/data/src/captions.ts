/**
 * Caption conventions. For an image `dir/name.ext`:
 * - `dir/name.txt`: natural text, unless it reads as a tag list (see `looksLikeTags`), then tags;
 * - `dir/name.tags.txt` (or `name.tags`): danbooru tags, always tags;
 * - `dir/name.caption.txt`: natural text, always text;
 * - `dir/name.json`: `{ "text" | "caption": string, "tags": string | string[] }`;
 * - a manifest (CSV with a header, or JSONL) passed as `manifest` or found as `metadata.csv` /
 *   `metadata.jsonl` at the top of the input folder: columns `file` (or `file_name`, `image`, `path`),
 *   `text` (or `caption`) and `tags`. Manifest entries override sidecar files field by field.
 * Both kinds are kept when both exist; training picks one per sample.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface Captions {
  text?: string;
  tags?: string;
}

/** A comma-separated list of short items with no sentence punctuation reads as danbooru tags. */
export function looksLikeTags(s: string): boolean {
  const t = s.trim();
  if (!t.includes(',')) return /^[\w()':-]+$/.test(t) && t.includes('_');
  const parts = t.split(',').map((p) => p.trim()).filter(Boolean);
  if (parts.length < 2) return false;
  const short = parts.filter((p) => p.split(/\s+/).length <= 4).length;
  return short / parts.length >= 0.8 && !/[.!?]\s/.test(t) && !/[.!?]$/.test(t);
}

function normalise(s: string): string {
  return s.replace(/\r\n/g, '\n').trim();
}

function readIf(p: string): string | undefined {
  return existsSync(p) ? normalise(readFileSync(p, 'utf8')) || undefined : undefined;
}

function tagsToString(v: unknown): string | undefined {
  if (Array.isArray(v)) return v.map(String).join(', ') || undefined;
  return typeof v === 'string' ? normalise(v) || undefined : undefined;
}

/** Captions from the sidecar files next to an image. */
export function sidecarCaptions(imagePath: string): Captions {
  const base = imagePath.slice(0, imagePath.length - path.extname(imagePath).length);
  const out: Captions = {};
  const json = readIf(`${base}.json`);
  if (json) {
    try {
      const j = JSON.parse(json) as Record<string, unknown>;
      const text = j.text ?? j.caption;
      if (typeof text === 'string' && text.trim()) out.text = normalise(text);
      const tags = tagsToString(j.tags);
      if (tags) out.tags = tags;
    } catch {
      // not a caption file: ignore
    }
  }
  const tags = readIf(`${base}.tags.txt`) ?? readIf(`${base}.tags`);
  if (tags) out.tags = tags;
  const text = readIf(`${base}.caption.txt`);
  if (text) out.text = text;
  const plain = readIf(`${base}.txt`);
  if (plain) {
    if (looksLikeTags(plain)) out.tags ??= plain;
    else out.text ??= plain;
  }
  return out;
}

/** Splits one CSV line (RFC 4180 quoting). */
export function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let q = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (q) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') q = false;
      else cur += c;
    } else if (c === '"') q = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

/** Splits CSV text into records, honouring newlines inside quotes. */
function csvRecords(text: string): string[] {
  const recs: string[] = [];
  let cur = '';
  let q = false;
  for (const ch of text.replace(/\r\n/g, '\n')) {
    if (ch === '"') q = !q;
    if (ch === '\n' && !q) {
      if (cur.trim()) recs.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) recs.push(cur);
  return recs;
}

const FILE_KEYS = ['file', 'file_name', 'image', 'path'];

/** Manifest rows keyed by the image path relative to `root` (forward slashes). */
export function readManifest(file: string, root: string): Map<string, Captions> {
  const text = readFileSync(file, 'utf8');
  const rows: Record<string, unknown>[] = [];
  if (/\.jsonl?$/i.test(file)) {
    for (const line of text.split('\n')) if (line.trim()) rows.push(JSON.parse(line) as Record<string, unknown>);
  } else {
    const [head, ...rest] = csvRecords(text);
    const cols = parseCsvLine(head ?? '').map((c) => c.trim().toLowerCase());
    for (const r of rest) {
      const cells = parseCsvLine(r);
      rows.push(Object.fromEntries(cols.map((c, i) => [c, cells[i] ?? ''])));
    }
  }
  const out = new Map<string, Captions>();
  const dir = path.dirname(file);
  for (const row of rows) {
    const key = FILE_KEYS.find((k) => typeof row[k] === 'string' && row[k]);
    if (!key) continue;
    const abs = path.resolve(dir, String(row[key]));
    const rel = path.relative(root, abs).split(path.sep).join('/');
    const c: Captions = {};
    const t = row.text ?? row.caption;
    if (typeof t === 'string' && t.trim()) c.text = normalise(t);
    const tags = tagsToString(row.tags);
    if (tags) c.tags = tags;
    out.set(rel, c);
  }
  return out;
}
