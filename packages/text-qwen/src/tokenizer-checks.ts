/**
 * Checks of an untrusted `tokenizer.json` that run before `@huggingface/tokenizers` sees it:
 *
 * - Regex patterns (pre-tokenizer splits, normalizer and decoder replacements) run on every prompt
 *   through the JavaScript backtracking engine, so a pattern like `(a+)+$` can take exponential time on
 *   a short prompt. The patterns are parsed and refused when their backtracking is not bounded by a
 *   low polynomial: a repeated group that itself repeats or alternates (nested quantifiers), more than
 *   two unbounded repeats on one path through the pattern, and backreferences. Real tokenizers (GPT-2,
 *   Llama 3, Qwen) use none of these.
 * - BPE merges must be `"a b"` strings or `["a", "b"]` pairs of vocabulary tokens (the library
 *   otherwise fails with `x.split is not a function`).
 */
import { ConfigError, clip, previewValue } from '@sdxs/core';

/** Longest pattern accepted (characters). */
export const MAX_TOKENIZER_PATTERN_LENGTH = 4096;
/** Most unbounded repeats (`*`, `+`, `{n,}`, `{n,m}` with m above 16) allowed on one path through a pattern. */
export const MAX_UNBOUNDED_REPEATS_PER_PATH = 2;
const LARGE_REPEAT = 16;

interface Info {
  /** Contains a quantifier whose minimum and maximum differ. */
  variable: boolean;
  /** Contains an alternation of two or more branches. */
  alternation: boolean;
  /** Largest number of unbounded repeats on one path. */
  unbounded: number;
}

const NONE: Info = { variable: false, alternation: false, unbounded: 0 };

class PatternParser {
  private pos = 0;
  readonly problems: string[] = [];
  constructor(private readonly src: string) {}

  run(): void {
    const top = this.alternation();
    if (this.pos < this.src.length) this.problems.push(`unbalanced ')' at character ${this.pos}`);
    this.checkPaths(top, 'the pattern');
  }

  private checkPaths(info: Info, where: string): void {
    if (info.unbounded > MAX_UNBOUNDED_REPEATS_PER_PATH) {
      this.problems.push(`${where} has ${info.unbounded} unbounded repeats in a row (at most ${MAX_UNBOUNDED_REPEATS_PER_PATH}; more backtrack polynomially)`);
    }
  }

  private alternation(): Info {
    const branches = [this.sequence()];
    while (this.src[this.pos] === '|') {
      this.pos++;
      branches.push(this.sequence());
    }
    return {
      variable: branches.some((b) => b.variable),
      alternation: branches.length > 1 || branches.some((b) => b.alternation),
      unbounded: Math.max(...branches.map((b) => b.unbounded)),
    };
  }

  private sequence(): Info {
    const out: Info = { ...NONE };
    while (this.pos < this.src.length && this.src[this.pos] !== '|' && this.src[this.pos] !== ')') {
      const start = this.pos;
      const atom = this.atom();
      const q = this.quantifier();
      let info = atom;
      if (q) {
        if (q.max > 1 && (atom.variable || atom.alternation)) {
          this.problems.push(`'${clip(this.src.slice(start, this.pos), 60)}' repeats a group that itself repeats or alternates (nested quantifiers backtrack exponentially)`);
        }
        const unboundedQ = q.max > LARGE_REPEAT;
        info = { variable: atom.variable || q.min !== q.max, alternation: atom.alternation, unbounded: unboundedQ ? Math.max(1, atom.unbounded) : atom.unbounded };
      }
      out.variable ||= info.variable;
      out.alternation ||= info.alternation;
      out.unbounded += info.unbounded;
    }
    return out;
  }

  /** `*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}` with an optional lazy `?` or possessive `+`. */
  private quantifier(): { min: number; max: number } | undefined {
    const c = this.src[this.pos];
    let q: { min: number; max: number } | undefined;
    if (c === '*') q = { min: 0, max: Infinity };
    else if (c === '+') q = { min: 1, max: Infinity };
    else if (c === '?') q = { min: 0, max: 1 };
    if (q) this.pos++;
    else if (c === '{') {
      const m = /^\{(\d*)(,(\d*))?\}/.exec(this.src.slice(this.pos, this.pos + 24));
      if (!m || (m[1] === '' && m[2] === undefined)) return undefined;
      const min = m[1] === '' ? 0 : Number(m[1]);
      const max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
      q = { min, max };
      this.pos += m[0].length;
    } else return undefined;
    if (this.src[this.pos] === '?' || this.src[this.pos] === '+') this.pos++;
    if (this.quantifierFollows()) this.problems.push(`a quantifier is repeated at character ${this.pos}`);
    return q;
  }

  private quantifierFollows(): boolean {
    const c = this.src[this.pos];
    return c === '*' || c === '+' || (c === '{' && /^\{\d*,?\d*\}/.test(this.src.slice(this.pos, this.pos + 24)));
  }

  private atom(): Info {
    const c = this.src[this.pos]!;
    if (c === '(') return this.group();
    if (c === '[') {
      this.charClass();
      return NONE;
    }
    if (c === '\\') {
      this.escape();
      return NONE;
    }
    this.pos++;
    return NONE;
  }

  private group(): Info {
    this.pos++; // (
    let look = false;
    if (this.src[this.pos] === '?') {
      const rest = this.src.slice(this.pos, this.pos + 40);
      const m = /^\?(?:[:=!>]|<[=!]|P?<[A-Za-z_]\w*>|[imsx]*-?[imsx]*:|[imsx]+-?[imsx]*\))/.exec(rest);
      if (!m) {
        this.problems.push(`unknown group syntax '(${clip(rest, 12)}' at character ${this.pos - 1}`);
        this.pos = this.src.length;
        return NONE;
      }
      look = /^\?(?:[=!]|<[=!])/.test(m[0]);
      this.pos += m[0].length;
      if (m[0].endsWith(')')) return NONE; // a flags-only group: (?i)
    }
    const body = this.alternation();
    if (this.src[this.pos] !== ')') this.problems.push('a group is not closed');
    else this.pos++;
    if (look) {
      // A lookaround's body is matched on its own: checked alone, not counted on the outer path.
      this.checkPaths(body, 'a lookaround');
      return { variable: false, alternation: false, unbounded: 0 };
    }
    return body;
  }

  private charClass(): void {
    this.pos++; // [
    if (this.src[this.pos] === '^') this.pos++;
    while (this.pos < this.src.length && this.src[this.pos] !== ']') {
      if (this.src[this.pos] === '\\') this.escape();
      else this.pos++;
    }
    if (this.src[this.pos] !== ']') this.problems.push('a character class is not closed');
    else this.pos++;
  }

  private escape(): void {
    const next = this.src[this.pos + 1];
    if (next === undefined) {
      this.problems.push('the pattern ends with a backslash');
      this.pos++;
      return;
    }
    if (/[1-9]/.test(next) || (next === 'k' && this.src[this.pos + 2] === '<')) {
      this.problems.push(`backreference '\\${next}' at character ${this.pos} (backreferences can backtrack exponentially)`);
    }
    if ((next === 'p' || next === 'P' || next === 'u' || next === 'x') && this.src[this.pos + 2] === '{') {
      const close = this.src.indexOf('}', this.pos);
      this.pos = close < 0 ? this.src.length : close + 1;
      return;
    }
    this.pos += 2;
  }
}

/** Why a regex pattern from a tokenizer file could backtrack without bound, or undefined when it cannot. */
export function regexBacktrackingProblem(pattern: string): string | undefined {
  if (pattern.length > MAX_TOKENIZER_PATTERN_LENGTH) return `is ${pattern.length} characters long (at most ${MAX_TOKENIZER_PATTERN_LENGTH})`;
  const p = new PatternParser(pattern);
  p.run();
  return p.problems.length ? p.problems.slice(0, 3).join('; ') : undefined;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every `{ "Regex": "..." }` pattern outside the vocabulary, with its JSON path. */
function regexPatterns(json: Json): { where: string; pattern: unknown }[] {
  const out: { where: string; pattern: unknown }[] = [];
  const walk = (v: unknown, where: string, depth: number): void => {
    if (depth > 32) return;
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${where}[${i}]`, depth + 1));
    else if (isObject(v)) {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'Regex') out.push({ where: `${where}.Regex`, pattern: x });
        else walk(x, where ? `${where}.${k}` : k, depth + 1);
      }
    }
  };
  for (const section of ['normalizer', 'pre_tokenizer', 'post_processor', 'decoder']) walk(json[section], section, 0);
  return out;
}

/** Throws a ConfigError naming tokenizer.json when a regex could hang tokenizing, or the merges are malformed. */
export function checkTokenizerJson(json: Json, file = 'tokenizer.json'): void {
  for (const { where, pattern } of regexPatterns(json)) {
    if (typeof pattern !== 'string') throw new ConfigError(`${file}: ${where} must be a string, got ${previewValue(pattern)}`);
    const problem = regexBacktrackingProblem(pattern);
    if (problem) {
      throw new ConfigError(
        `${file}: the regex at ${where} (${previewValue(pattern)}) is refused: ${problem}. ` +
          'Patterns from a model folder run on every prompt; this one could make tokenizing hang',
      );
    }
  }
  const model = json.model;
  if (isObject(model) && model.merges !== undefined) checkMerges(model.merges, model.vocab, file);
}

function checkMerges(merges: unknown, vocab: unknown, file: string): void {
  if (!Array.isArray(merges)) throw new ConfigError(`${file}: model.merges must be a list, got ${previewValue(merges)}`);
  const has = isObject(vocab) ? (t: string): boolean => Object.prototype.hasOwnProperty.call(vocab, t) : (): boolean => true;
  const pairs = merges.length > 0 && Array.isArray(merges[0]);
  for (let i = 0; i < merges.length; i++) {
    const m: unknown = merges[i];
    let parts: unknown[] | undefined;
    if (pairs && Array.isArray(m)) parts = m;
    else if (!pairs && typeof m === 'string') parts = m.split(' ');
    const ok = parts !== undefined && parts.length === 2 && parts.every((p) => typeof p === 'string' && p.length > 0);
    if (!ok) {
      const form = pairs ? 'a pair of tokens ["a", "b"] like merges[0]' : 'a string of two tokens separated by one space ("a b")';
      throw new ConfigError(`${file}: model.merges[${i}] must be ${form}, got ${previewValue(m)}`);
    }
    for (const t of parts as string[]) {
      if (!has(t)) throw new ConfigError(`${file}: model.merges[${i}] (${previewValue(m)}) names ${previewValue(t)}, which is not in model.vocab`);
    }
  }
}
