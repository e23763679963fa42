/**
 * The Qwen tokenizer: byte-level BPE from `tokenizer.json` through `@huggingface/tokenizers`, special tokens and
 * padding from `tokenizer_config.json`, the chat template through `@huggingface/jinja`. Every id is read from the
 * files; nothing about a particular vocabulary is hard-coded.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { ConfigError, InputError, joinLocation, readTextLocation } from '@sdxs/core';
import { ChatTemplate, type ChatMessage, type RenderChatOptions } from './chat-template.js';
import { checkTokenizerJson } from './tokenizer-checks.js';

/** Parsed JSON object (or the file's text) of `tokenizer.json` / `tokenizer_config.json`. */
export type JsonFile = string | Record<string, unknown>;

export interface QwenTokenizerFiles {
  /** `tokenizer.json`, parsed or as text. */
  tokenizerJson: JsonFile;
  /** `tokenizer_config.json`, parsed or as text. */
  tokenizerConfig: JsonFile;
  /** The text of `chat_template.jinja`; overrides `tokenizer_config.json`'s `chat_template`. */
  chatTemplate?: string;
}

export interface FromPretrainedOptions {
  /** Folder inside `source` that holds the tokenizer files (e.g. `'tokenizer'`). */
  subfolder?: string;
}

export interface EncodeOptions {
  /** Apply the tokenizer's post-processor (Qwen's adds nothing). Default true, as in transformers. */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Drop added tokens marked special (`<|im_start|>`, `<|im_end|>`, `<|endoftext|>`, ...). Default false. */
  skipSpecialTokens?: boolean;
}

export interface EncodeBatchOptions extends EncodeOptions {
  /** Length to pad (`'max_length'`) and/or truncate to. */
  maxLength?: number;
  /** `'longest'` (default) pads to the longest row; `'max_length'` pads every row to `maxLength`. */
  padding?: 'max_length' | 'longest';
  /** Cut rows longer than `maxLength` (keeping the start). Default: true when `maxLength` is given. */
  truncation?: boolean;
}

export interface BatchEncoding {
  /** Right-padded ids, every row the same length. */
  inputIds: number[][];
  /** 1 for real tokens, 0 for padding. */
  attentionMask: number[][];
}

export interface ApplyChatTemplateOptions extends RenderChatOptions {
  /** Return token ids (encoded without adding special tokens) instead of the rendered text. */
  tokenize?: boolean;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJsonFile(value: JsonFile, file: string): Json {
  let parsed: unknown = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch (err) {
      throw new ConfigError(`${file}: not valid JSON (${(err as Error).message})`, { cause: err });
    }
  }
  if (!isObject(parsed)) throw new ConfigError(`${file}: expected a JSON object`);
  return parsed;
}

/** A special-token entry of tokenizer_config.json: a string, an AddedToken object `{ content }`, or null. */
function tokenContent(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (isObject(value) && typeof value.content === 'string') return value.content;
  return undefined;
}

/** `chat_template` may be a string or (older format) a list of `{ name, template }`. */
function configChatTemplate(config: Json): string | undefined {
  const t = config.chat_template;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) {
    const entries = t.filter(isObject);
    const def = entries.find((e) => e.name === 'default') ?? entries[0];
    if (def && typeof def.template === 'string') return def.template;
  }
  return undefined;
}

const SPECIAL_TOKEN_KEYS = ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token'];

export class QwenTokenizer {
  /** Id of `eos_token` from tokenizer_config.json. */
  readonly eosTokenId: number;
  /** Id of `pad_token` from tokenizer_config.json, undefined when the config has none. */
  readonly padTokenId: number | undefined;
  /** Id of `<|im_end|>` (end of a chat turn), undefined when the vocabulary lacks it. */
  readonly imEndTokenId: number | undefined;
  /** Id of `<|im_start|>`, undefined when the vocabulary lacks it. */
  readonly imStartTokenId: number | undefined;
  /** Size of the id space covered by the files: highest id (vocab or added token) + 1. */
  readonly vocabSize: number;
  /** `model_max_length` of tokenizer_config.json, when given. */
  readonly modelMaxLength: number | undefined;
  /** The chat template, when the files have one. */
  readonly chatTemplate: ChatTemplate | undefined;

  private readonly tokenizer: Tokenizer;
  private readonly specialTokenStrings: Record<string, string>;
  private readonly cleanUpSpaces: boolean;

  private constructor(tokenizer: Tokenizer, config: Json, chatTemplate: ChatTemplate | undefined) {
    this.tokenizer = tokenizer;
    this.chatTemplate = chatTemplate;
    this.cleanUpSpaces = config.clean_up_tokenization_spaces === true;
    this.specialTokenStrings = {};
    for (const key of SPECIAL_TOKEN_KEYS) {
      const content = tokenContent(config[key]);
      if (content !== undefined) this.specialTokenStrings[key] = content;
    }
    const lookup = (key: string, required: boolean): number | undefined => {
      const content = this.specialTokenStrings[key];
      if (content === undefined) {
        if (required) throw new ConfigError(`tokenizer_config.json: '${key}' is missing`);
        return undefined;
      }
      const id = tokenizer.token_to_id(content);
      if (id === undefined) {
        throw new ConfigError(`tokenizer_config.json: ${key} '${content}' is not a token of tokenizer.json`);
      }
      return id;
    };
    this.eosTokenId = lookup('eos_token', true) as number;
    this.padTokenId = lookup('pad_token', false);
    this.imEndTokenId = tokenizer.token_to_id('<|im_end|>');
    this.imStartTokenId = tokenizer.token_to_id('<|im_start|>');
    let maxId = -1;
    for (const id of tokenizer.get_vocab(true).values()) if (id > maxId) maxId = id;
    this.vocabSize = maxId + 1;
    const mml = config.model_max_length;
    this.modelMaxLength = typeof mml === 'number' && Number.isFinite(mml) ? mml : undefined;
  }

  /** Builds a tokenizer from in-memory files (browser-friendly; nothing is read from disk). */
  static fromFiles(files: QwenTokenizerFiles): QwenTokenizer {
    const tokenizerJson = parseJsonFile(files.tokenizerJson, 'tokenizer.json');
    const config = parseJsonFile(files.tokenizerConfig, 'tokenizer_config.json');
    if (!isObject(tokenizerJson.model)) throw new ConfigError("tokenizer.json: missing the 'model' section");
    if (!Array.isArray(tokenizerJson.added_tokens)) {
      throw new ConfigError("tokenizer.json: missing the 'added_tokens' list");
    }
    checkTokenizerJson(tokenizerJson);
    let tokenizer: Tokenizer;
    try {
      tokenizer = new Tokenizer(tokenizerJson, config);
    } catch (err) {
      throw new ConfigError(`tokenizer.json: cannot build the tokenizer: ${(err as Error).message}`, { cause: err });
    }
    let template: ChatTemplate | undefined;
    if (files.chatTemplate !== undefined) {
      template = new ChatTemplate(files.chatTemplate, 'chat_template.jinja');
    } else {
      const fromConfig = configChatTemplate(config);
      if (fromConfig !== undefined) template = new ChatTemplate(fromConfig, 'tokenizer_config.json chat_template');
    }
    return new QwenTokenizer(tokenizer, config, template);
  }

  /**
   * Loads `tokenizer.json`, `tokenizer_config.json` and the chat template from a local folder (Node) or an
   * http(s) URL of a folder (fetched; works in browsers).
   * The template is read from `chat_template.jinja` when present, else from `tokenizer_config.json`'s
   * `chat_template`, else from `chat_template.json`.
   */
  static async fromPretrained(source: string, options: FromPretrainedOptions = {}): Promise<QwenTokenizer> {
    const read = async (name: string, required: boolean): Promise<string | undefined> => {
      const file = joinLocation(source, options.subfolder, name);
      let text: string | undefined;
      try {
        text = await readTextLocation(file);
      } catch (err) {
        throw new ConfigError(`${name}: cannot read ${file} (${(err as Error).message})`, { cause: err });
      }
      if (text === undefined && required) throw new ConfigError(`${name} not found: ${file}`);
      return text;
    };
    const [tokenizerJson, tokenizerConfig, jinja] = await Promise.all([
      read('tokenizer.json', true),
      read('tokenizer_config.json', true),
      read('chat_template.jinja', false),
    ]);
    let chatTemplate = jinja;
    if (chatTemplate === undefined) {
      const config = parseJsonFile(tokenizerConfig as string, 'tokenizer_config.json');
      if (configChatTemplate(config) === undefined) {
        const processorTemplate = await read('chat_template.json', false);
        if (processorTemplate !== undefined) {
          const t = parseJsonFile(processorTemplate, 'chat_template.json').chat_template;
          if (typeof t !== 'string') throw new ConfigError("chat_template.json: 'chat_template' must be a string");
          chatTemplate = t;
        }
      }
    }
    return QwenTokenizer.fromFiles({
      tokenizerJson: tokenizerJson as string,
      tokenizerConfig: tokenizerConfig as string,
      chatTemplate,
    });
  }

  /** Token id of a token string (vocab or added token), or undefined. */
  tokenToId(token: string): number | undefined {
    return this.tokenizer.token_to_id(token);
  }

  /** Token string of an id, or undefined. */
  idToToken(id: number): string | undefined {
    return this.tokenizer.id_to_token(id);
  }

  /** Text → ids. Added tokens such as `<|im_start|>` in the text become their single ids. */
  encode(text: string, options: EncodeOptions = {}): number[] {
    if (typeof text !== 'string') throw new InputError('encode: text must be a string');
    if (text.length === 0) return [];
    return this.tokenizer.encode(text, { add_special_tokens: options.addSpecialTokens ?? true }).ids;
  }

  /** Ids → text. Ids outside the vocabulary are dropped, as the Rust tokenizers library does. */
  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    if (!Array.isArray(ids)) throw new InputError('decode: ids must be an array of integers');
    const known: number[] = [];
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0) throw new InputError(`decode: invalid token id ${String(id)}`);
      if (this.tokenizer.id_to_token(id) !== undefined) known.push(id);
    }
    if (known.length === 0) return '';
    return this.tokenizer.decode(known, {
      skip_special_tokens: options.skipSpecialTokens ?? false,
      clean_up_tokenization_spaces: this.cleanUpSpaces,
    });
  }

  /** Encodes several texts, truncated and right-padded with the config's pad token, with attention masks. */
  encodeBatch(texts: readonly string[], options: EncodeBatchOptions = {}): BatchEncoding {
    if (!Array.isArray(texts)) throw new InputError('encodeBatch: texts must be an array of strings');
    const { maxLength } = options;
    const padding = options.padding ?? 'longest';
    if (padding !== 'longest' && padding !== 'max_length') {
      throw new InputError(`encodeBatch: padding must be 'longest' or 'max_length', got '${String(padding)}'`);
    }
    if (maxLength !== undefined && (!Number.isInteger(maxLength) || maxLength < 1)) {
      throw new InputError(`encodeBatch: maxLength must be a positive integer, got ${String(maxLength)}`);
    }
    if (padding === 'max_length' && maxLength === undefined) {
      throw new InputError("encodeBatch: padding 'max_length' needs maxLength");
    }
    const truncation = options.truncation ?? maxLength !== undefined;
    if (truncation && maxLength === undefined) throw new InputError('encodeBatch: truncation needs maxLength');
    if (this.padTokenId === undefined) {
      throw new ConfigError("tokenizer_config.json has no 'pad_token': set one to pad batches");
    }
    const rows = texts.map((t) => {
      const ids = this.encode(t, { addSpecialTokens: options.addSpecialTokens });
      return truncation && maxLength !== undefined && ids.length > maxLength ? ids.slice(0, maxLength) : ids;
    });
    const longest = rows.reduce((m, r) => Math.max(m, r.length), 0);
    let width = longest;
    if (padding === 'max_length' && maxLength !== undefined) {
      if (longest > maxLength) {
        throw new InputError(
          `encodeBatch: a text has ${longest} tokens, more than maxLength ${maxLength}; enable truncation`,
        );
      }
      width = maxLength;
    }
    const pad = this.padTokenId;
    return {
      inputIds: rows.map((r) => [...r, ...new Array<number>(width - r.length).fill(pad)]),
      attentionMask: rows.map((r) => [...new Array<number>(r.length).fill(1), ...new Array<number>(width - r.length).fill(0)]),
    };
  }

  /** Renders the chat template (transformers' `apply_chat_template`); `tokenize: true` returns ids. */
  applyChatTemplate(messages: readonly ChatMessage[], options: ApplyChatTemplateOptions & { tokenize: true }): number[];
  applyChatTemplate(messages: readonly ChatMessage[], options?: ApplyChatTemplateOptions & { tokenize?: false }): string;
  applyChatTemplate(messages: readonly ChatMessage[], options?: ApplyChatTemplateOptions): string | number[];
  applyChatTemplate(messages: readonly ChatMessage[], options: ApplyChatTemplateOptions = {}): string | number[] {
    if (!this.chatTemplate) {
      throw new ConfigError(
        'no chat template: add chat_template.jinja to the tokenizer folder or pass chatTemplate to fromFiles',
      );
    }
    const text = this.chatTemplate.render(messages, options, this.specialTokenStrings);
    return options.tokenize ? this.encode(text, { addSpecialTokens: false }) : text;
  }
}
