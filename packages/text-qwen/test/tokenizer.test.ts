import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, InputError } from '@sdxs/core';
import { QwenTokenizer, type ChatMessage } from '../src/index.js';
import { skipUnless, startStaticServer } from '@sdxs/core/testing';
import { TOKENIZER_DIR } from './qwen-fixtures.js';

// The reference fixtures (see fixtures/README.md); SDXS_FIXTURES points elsewhere when they live elsewhere.
const FIXTURE = TOKENIZER_DIR;
const HAVE_FIXTURE = existsSync(join(FIXTURE, 'cases.json'));
const NO_FIXTURE = skipUnless(HAVE_FIXTURE, `text-qwen tokenizer tests: no fixture at ${FIXTURE} (set SDXS_FIXTURES)`, { ciRequired: true });

interface TokenizerCase {
  name: string;
  text: string;
  ids: number[];
  decoded: string;
  roundtrip_exact: boolean;
  chat?: { messages: ChatMessage[]; add_generation_prompt: boolean };
}
const cases: TokenizerCase[] = HAVE_FIXTURE
  ? (JSON.parse(readFileSync(join(FIXTURE, 'cases.json'), 'utf8')) as { cases: TokenizerCase[] }).cases
  : [];
const rawConfig: Record<string, unknown> = HAVE_FIXTURE
  ? (JSON.parse(readFileSync(join(FIXTURE, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>)
  : {};

let tok: QwenTokenizer;
beforeAll(async () => {
  if (HAVE_FIXTURE) tok = await QwenTokenizer.fromPretrained(FIXTURE);
});

describe.skipIf(NO_FIXTURE)('QwenTokenizer on the Qwen3 reference cases', () => {
  it('has all 15 cases', () => {
    expect(cases.length).toBe(15);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s: ids match the reference exactly', (_name, c) => {
    expect(tok.encode(c.text, { addSpecialTokens: false })).toEqual(c.ids);
    // Qwen's post-processor adds nothing, so the default gives the same ids.
    expect(tok.encode(c.text)).toEqual(c.ids);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s: decode gives the reference text', (_name, c) => {
    const decoded = tok.decode(c.ids);
    expect(decoded).toBe(c.decoded);
    if (c.roundtrip_exact) expect(decoded).toBe(c.text);
    else expect(decoded).toBe(c.text.normalize('NFC'));
  });

  it('renders and tokenizes every chat case like transformers apply_chat_template', () => {
    const chats = cases.filter((c) => c.chat);
    expect(chats.length).toBeGreaterThan(0);
    for (const c of chats) {
      const chat = c.chat!;
      const text = tok.applyChatTemplate(chat.messages, { addGenerationPrompt: chat.add_generation_prompt });
      expect(text).toBe(c.text);
      expect(tok.applyChatTemplate(chat.messages, { addGenerationPrompt: chat.add_generation_prompt, tokenize: true }))
        .toEqual(c.ids);
    }
  });
});

describe.skipIf(NO_FIXTURE)('special tokens', () => {
  it('reads eos, pad and <|im_end|> ids from the files', () => {
    const vocab = JSON.parse(readFileSync(join(FIXTURE, 'tokenizer.json'), 'utf8')) as {
      added_tokens: { id: number; content: string }[];
    };
    const idOf = (s: string) => vocab.added_tokens.find((t) => t.content === s)!.id;
    expect(tok.eosTokenId).toBe(idOf(rawConfig.eos_token as string));
    expect(tok.padTokenId).toBe(idOf(rawConfig.pad_token as string));
    expect(tok.imEndTokenId).toBe(idOf('<|im_end|>'));
    expect(tok.imStartTokenId).toBe(idOf('<|im_start|>'));
    expect(tok.vocabSize).toBe(Math.max(...vocab.added_tokens.map((t) => t.id)) + 1);
    expect(tok.tokenToId('<|im_end|>')).toBe(tok.imEndTokenId);
    expect(tok.idToToken(tok.eosTokenId)).toBe(rawConfig.eos_token);
  });

  it('skips special tokens on request, keeps them by default', () => {
    const ids = tok.encode('<|im_start|>user\nDescribe a sunset.<|im_end|>\n');
    expect(tok.decode(ids)).toBe('<|im_start|>user\nDescribe a sunset.<|im_end|>\n');
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe('user\nDescribe a sunset.\n');
  });

  it('decodes empty input and drops ids outside the vocabulary; rejects non-integers', () => {
    expect(tok.decode([])).toBe('');
    expect(tok.decode([9707, tok.vocabSize + 5])).toBe('Hello');
    expect(() => tok.decode([1.5])).toThrow(InputError);
    expect(() => tok.decode([-1])).toThrow(InputError);
  });
});

describe.skipIf(NO_FIXTURE)('round trips', () => {
  it.each([
    'A castle on a hill at dawn, dramatic clouds, 8k',
    'Смешанный text 混合 テキスト 🎨 with\ttabs\nand newlines   ',
    '<|im_start|>system\nYou are helpful.<|im_end|>\n<think>\n\n</think>\n\n',
    'x'.repeat(500),
  ])('decode(encode(%j)) is the text', (text) => {
    expect(tok.decode(tok.encode(text))).toBe(text);
  });
});

describe.skipIf(NO_FIXTURE)('encodeBatch', () => {
  const texts = ['Hello, world! A photo of a cat.', 'A cat', ''];

  it('pads right to the longest row with the pad token and masks the padding', () => {
    const rows = texts.map((t) => tok.encode(t));
    const longest = Math.max(...rows.map((r) => r.length));
    const { inputIds, attentionMask } = tok.encodeBatch(texts);
    expect(inputIds.length).toBe(3);
    for (let b = 0; b < 3; b++) {
      const ids = inputIds[b]!;
      const mask = attentionMask[b]!;
      const row = rows[b]!;
      expect(ids.length).toBe(longest);
      expect(mask.length).toBe(longest);
      expect(ids.slice(0, row.length)).toEqual(row);
      expect(ids.slice(row.length).every((id) => id === tok.padTokenId)).toBe(true);
      expect(mask).toEqual([
        ...new Array<number>(row.length).fill(1),
        ...new Array<number>(longest - row.length).fill(0),
      ]);
    }
  });

  it("pads to maxLength with padding 'max_length'", () => {
    const { inputIds, attentionMask } = tok.encodeBatch(texts, { padding: 'max_length', maxLength: 16 });
    expect(inputIds.every((r) => r.length === 16)).toBe(true);
    expect(attentionMask[1]!.reduce((a, b) => a + b, 0)).toBe(tok.encode('A cat').length);
    expect(attentionMask[2]!.every((m) => m === 0)).toBe(true);
    expect(inputIds[2]!.every((id) => id === tok.padTokenId)).toBe(true);
  });

  it('truncates to maxLength keeping the start', () => {
    const full = tok.encode(texts[0]!);
    const { inputIds, attentionMask } = tok.encodeBatch(texts, { padding: 'max_length', maxLength: 4 });
    expect(inputIds[0]).toEqual(full.slice(0, 4));
    expect(attentionMask[0]).toEqual([1, 1, 1, 1]);
    const longest = tok.encodeBatch(texts, { maxLength: 4 });
    expect(longest.inputIds[0]).toEqual(full.slice(0, 4));
  });

  it('refuses rows longer than maxLength without truncation, and bad options', () => {
    expect(() => tok.encodeBatch(texts, { padding: 'max_length', maxLength: 4, truncation: false })).toThrow(InputError);
    expect(() => tok.encodeBatch(texts, { padding: 'max_length' })).toThrow(InputError);
    expect(() => tok.encodeBatch(texts, { maxLength: 0 })).toThrow(InputError);
  });

  it('pads a chat prompt to 248 like the pipeline', () => {
    const prompt = tok.applyChatTemplate([{ role: 'user', content: 'a red fox in snow' }], {
      addGenerationPrompt: true,
    });
    const { inputIds, attentionMask } = tok.encodeBatch([prompt], { padding: 'max_length', maxLength: 248 });
    const ids = tok.encode(prompt);
    expect(inputIds[0]!.length).toBe(248);
    expect(inputIds[0]!.slice(0, ids.length)).toEqual(ids);
    expect(ids[ids.length - 1]).toBe(tok.encode('\n')[0]);
    expect(attentionMask[0]!.indexOf(0)).toBe(ids.length);
  });
});

describe.skipIf(NO_FIXTURE)('chat template', () => {
  it('adds the empty think block when thinking is disabled', () => {
    const msgs: ChatMessage[] = [{ role: 'user', content: 'hi' }];
    expect(tok.applyChatTemplate(msgs, { addGenerationPrompt: true, enableThinking: false })).toBe(
      '<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n',
    );
    expect(tok.applyChatTemplate(msgs, { addGenerationPrompt: true, enableThinking: true })).toBe(
      '<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n',
    );
    expect(tok.applyChatTemplate(msgs)).toBe('<|im_start|>user\nhi<|im_end|>\n');
  });

  it('renders system messages', () => {
    const text = tok.applyChatTemplate(
      [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'hi' },
      ],
      { addGenerationPrompt: true },
    );
    expect(text).toBe('<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n');
  });

  it('prefers an explicit chat template and exposes special tokens and raise_exception to it', () => {
    const files = {
      tokenizerJson: readFileSync(join(FIXTURE, 'tokenizer.json'), 'utf8'),
      tokenizerConfig: rawConfig,
    };
    const t = QwenTokenizer.fromFiles({
      ...files,
      chatTemplate:
        "{% for m in messages %}{% if m.role == 'bad' %}{{ raise_exception('no bad roles') }}{% endif %}" +
        '[{{ m.role }}]{{ m.content }}{{ eos_token }}{% endfor %}',
    });
    expect(t.applyChatTemplate([{ role: 'user', content: 'x' }])).toBe('[user]x<|im_end|>');
    expect(() => t.applyChatTemplate([{ role: 'bad', content: 'x' }])).toThrow(/no bad roles/);
    expect(() => t.applyChatTemplate([{ role: 'user', content: 'x' }, null as unknown as ChatMessage])).toThrow(
      InputError,
    );
  });

  it('throws ConfigError when there is no template, or it does not parse', () => {
    const { chat_template: _drop, ...noTemplate } = rawConfig;
    const t = QwenTokenizer.fromFiles({
      tokenizerJson: readFileSync(join(FIXTURE, 'tokenizer.json'), 'utf8'),
      tokenizerConfig: noTemplate,
    });
    expect(t.chatTemplate).toBeUndefined();
    expect(() => t.applyChatTemplate([{ role: 'user', content: 'x' }])).toThrow(ConfigError);
    expect(() =>
      QwenTokenizer.fromFiles({
        tokenizerJson: readFileSync(join(FIXTURE, 'tokenizer.json'), 'utf8'),
        tokenizerConfig: noTemplate,
        chatTemplate: '{% for m in messages %}',
      }),
    ).toThrow(ConfigError);
  });
});

describe.skipIf(NO_FIXTURE)('loading from a folder', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'qwen-tok-'));

  function folder(name: string, files: Record<string, string | null>): string {
    const dir = join(tmp, name);
    mkdirSync(dir, { recursive: true });
    for (const [file, content] of Object.entries(files)) {
      if (content === null) copyFileSync(join(FIXTURE, file), join(dir, file));
      else writeFileSync(join(dir, file), content);
    }
    return dir;
  }

  it('reads a subfolder and prefers chat_template.jinja over tokenizer_config.json', async () => {
    folder('repo/tokenizer', {
      'tokenizer.json': null,
      'tokenizer_config.json': null,
      'chat_template.jinja': '{{ messages[0].content }}!',
    });
    const t = await QwenTokenizer.fromPretrained(join(tmp, 'repo'), { subfolder: 'tokenizer' });
    expect(t.applyChatTemplate([{ role: 'user', content: 'hey' }])).toBe('hey!');
    expect(t.encode('Hello')).toEqual(tok.encode('Hello'));
  });

  it('falls back to chat_template.json when neither the .jinja file nor the config has a template', async () => {
    const { chat_template: _drop, ...noTemplate } = rawConfig;
    const dir = folder('processor', {
      'tokenizer.json': null,
      'tokenizer_config.json': JSON.stringify(noTemplate),
      'chat_template.json': JSON.stringify({ chat_template: '<{{ messages[0].role }}>' }),
    });
    const t = await QwenTokenizer.fromPretrained(dir);
    expect(t.applyChatTemplate([{ role: 'user', content: 'hey' }])).toBe('<user>');
  });

  it('names the missing file', async () => {
    const dir = folder('missing', { 'tokenizer.json': null });
    await expect(QwenTokenizer.fromPretrained(dir)).rejects.toThrow(ConfigError);
    await expect(QwenTokenizer.fromPretrained(dir)).rejects.toThrow(/tokenizer_config\.json/);
    const dir2 = folder('missing2', { 'tokenizer_config.json': null });
    await expect(QwenTokenizer.fromPretrained(dir2)).rejects.toThrow(/tokenizer\.json not found/);
  });

  it('names the corrupt file', async () => {
    const bad = folder('corrupt', { 'tokenizer.json': '{"model": ', 'tokenizer_config.json': null });
    await expect(QwenTokenizer.fromPretrained(bad)).rejects.toThrow(ConfigError);
    await expect(QwenTokenizer.fromPretrained(bad)).rejects.toThrow(/^tokenizer\.json: not valid JSON/);
    const bad2 = folder('corrupt2', { 'tokenizer.json': null, 'tokenizer_config.json': '[1,2' });
    await expect(QwenTokenizer.fromPretrained(bad2)).rejects.toThrow(/tokenizer_config\.json: not valid JSON/);
    const bad3 = folder('corrupt3', { 'tokenizer.json': '{"added_tokens": []}', 'tokenizer_config.json': null });
    await expect(QwenTokenizer.fromPretrained(bad3)).rejects.toThrow(/tokenizer\.json: missing the 'model'/);
  });

  it('reports a missing pad token when padding and an unknown eos token at load', () => {
    const tokenizerJson = readFileSync(join(FIXTURE, 'tokenizer.json'), 'utf8');
    const noPad = QwenTokenizer.fromFiles({ tokenizerJson, tokenizerConfig: { ...rawConfig, pad_token: null } });
    expect(noPad.padTokenId).toBeUndefined();
    expect(() => noPad.encodeBatch(['a'])).toThrow(/pad_token/);
    expect(() => noPad.encodeBatch(['a'])).toThrow(ConfigError);
    expect(() => QwenTokenizer.fromFiles({ tokenizerJson, tokenizerConfig: { ...rawConfig, eos_token: '<nope>' } }))
      .toThrow(ConfigError);
    const objPad = QwenTokenizer.fromFiles({
      tokenizerJson,
      tokenizerConfig: { ...rawConfig, pad_token: { content: '<|endoftext|>', __type: 'AddedToken' } },
    });
    expect(objPad.padTokenId).toBe(tok.padTokenId);
  });

  it('fetches the files from an http(s) folder URL (as in a browser), chat_template.jinja included', async () => {
    folder('web/tokenizer', {
      'tokenizer.json': null,
      'tokenizer_config.json': null,
      'chat_template.jinja': '[{{ messages[0].content }}]',
    });
    const server = await startStaticServer({ repo: tmp });
    try {
      const base = `${server.url.replace('localhost', '127.0.0.1')}/repo/web`;
      const t = await QwenTokenizer.fromPretrained(base, { subfolder: 'tokenizer' });
      expect(t.applyChatTemplate([{ role: 'user', content: 'hey' }])).toBe('[hey]');
      expect(t.encode('Hello world')).toEqual(tok.encode('Hello world'));
      expect(server.requests.map((r) => r.split(' ')[1]).sort()).toEqual(
        ['chat_template.jinja', 'tokenizer.json', 'tokenizer_config.json'].map((f) => `/repo/web/tokenizer/${f}`),
      );
      await expect(QwenTokenizer.fromPretrained(`${base}/nothing`)).rejects.toThrow(/tokenizer\.json not found: http/);
    } finally {
      await server.close();
    }
  });
});

describe.skipIf(NO_FIXTURE)('untrusted tokenizer.json', () => {
  const base = (): Record<string, unknown> => JSON.parse(readFileSync(join(FIXTURE, 'tokenizer.json'), 'utf8')) as Record<string, unknown>;
  const withSplit = (regex: string): Record<string, unknown> => {
    const j = base();
    const pre = j.pre_tokenizer as { pretokenizers: { pattern?: { Regex: string } }[] };
    pre.pretokenizers[0]!.pattern = { Regex: regex };
    return j;
  };
  const build = (tokenizerJson: Record<string, unknown>): QwenTokenizer => QwenTokenizer.fromFiles({ tokenizerJson, tokenizerConfig: rawConfig });

  it.each([
    ['(a+)+$'],
    ['(?:\\w+\\s?)*$'],
    ['(a|aa)+$'],
    ['(x+x+)+y'],
    ['(?:a*){2,}b'],
    ['a*a*a*a*b'],
    ['\\s*\\s*\\s*x'],
    ['(a)\\1*b'],
    ['(?:\\p{L}{1,40}){1,40}!'],
  ])('a pre-tokenizer regex that backtracks without bound (%s) is refused with a ConfigError naming tokenizer.json', (regex) => {
    const t0 = performance.now();
    let err: unknown;
    try {
      build(withSplit(regex));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/^tokenizer\.json: the regex at pre_tokenizer\.pretokenizers\[0\]\.pattern\.Regex/);
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('a backtracking regex in a normalizer or decoder Replace is refused too', () => {
    const j = base();
    j.normalizer = { type: 'Sequence', normalizers: [{ type: 'NFC' }, { type: 'Replace', pattern: { Regex: '(\\s+)+$' }, content: ' ' }] };
    expect(() => build(j)).toThrow(/normalizer\.normalizers\[1\]\.pattern\.Regex/);
  });

  it('the patterns of real tokenizers (GPT-2, Llama 3, Qwen) are accepted and still tokenize', () => {
    const qwen = ((base().pre_tokenizer as { pretokenizers: { pattern: { Regex: string } }[] }).pretokenizers[0]!.pattern.Regex);
    const gpt2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
    const llama3 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    for (const regex of [qwen, gpt2, llama3]) {
      const t = build(withSplit(regex));
      expect(t.decode(t.encode('Hello  world 123!\n\n'))).toBe('Hello  world 123!\n\n');
    }
    // the long whitespace run that the Qwen pattern's two repeats backtrack over stays fast
    const t0 = performance.now();
    build(withSplit(qwen)).encode(`${" ".repeat(3000)}x`);
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  it.each([
    ['a number', [1, 2]],
    ['a string without a space', ['Ġt']],
    ['a string with two spaces', ['Ġ t h']],
    ['a pair of three', [['Ġ', 't', 'h']]],
    ['a pair with a number', [['Ġ', 5]]],
    ['a token outside the vocabulary', [['Ġ', '\u0001not-in-vocab']]],
  ])('bad BPE merges (%s) are a ConfigError naming tokenizer.json and the merge, not a TypeError', (_what, merges) => {
    const j = base();
    (j.model as { merges: unknown }).merges = merges;
    let err: unknown;
    try {
      build(j);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/^tokenizer\.json: model\.merges\[0\]/);
    expect((err as Error).message).not.toMatch(/is not a function/);
  });

  it('merges that are not a list are refused', () => {
    const j = base();
    (j.model as { merges: unknown }).merges = { a: 1 };
    expect(() => build(j)).toThrow(/model\.merges must be a list/);
  });
});
