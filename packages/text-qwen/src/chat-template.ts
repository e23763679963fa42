/**
 * Chat templates rendered with `@huggingface/jinja`, the way transformers' `apply_chat_template` renders them:
 * the template sees `messages`, `add_generation_prompt`, the tokenizer's special-token strings
 * (`bos_token`, `eos_token`, `pad_token`, `unk_token`, ...), any extra keyword arguments
 * (`enable_thinking`, `tools`, ...) and the helpers `raise_exception` and `strftime_now` (provided by
 * `@huggingface/jinja` itself).
 */
import { Template } from '@huggingface/jinja';
import { ConfigError, InputError } from '@sdxs/core';

/** One part of a multimodal message content list (`{ type: 'text', text }`). */
export interface ChatContentPart {
  type: string;
  text?: string;
  [key: string]: unknown;
}

/** A chat message. Extra fields (`reasoning_content`, `tool_calls`, ...) are passed to the template as-is. */
export interface ChatMessage {
  role: string;
  content: string | ChatContentPart[];
  [key: string]: unknown;
}

export interface RenderChatOptions {
  /** Append the assistant turn header (`<|im_start|>assistant\n`). Default false, as in transformers. */
  addGenerationPrompt?: boolean;
  /**
   * Qwen thinking switch. Left undefined, the template sees `enable_thinking` as undefined (its default);
   * `false` makes Qwen3 templates emit an empty `<think>` block after the generation prompt.
   */
  enableThinking?: boolean;
  /** Further template variables (e.g. `tools`), passed like transformers' `**kwargs`. */
  templateKwargs?: Record<string, unknown>;
}

/** A parsed chat template. `origin` names where it came from, for error messages. */
export class ChatTemplate {
  readonly source: string;
  readonly origin: string;
  private readonly template: Template;

  constructor(source: string, origin = 'chat template') {
    this.source = source;
    this.origin = origin;
    try {
      this.template = new Template(source);
    } catch (err) {
      throw new ConfigError(`${origin}: cannot parse the chat template: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Renders `messages`; `specialTokens` maps `eos_token` etc. to their strings. */
  render(
    messages: readonly ChatMessage[],
    options: RenderChatOptions = {},
    specialTokens: Readonly<Record<string, string>> = {},
  ): string {
    if (!Array.isArray(messages)) throw new InputError('applyChatTemplate: messages must be an array of { role, content }');
    for (const [i, m] of messages.entries()) {
      if (m === null || typeof m !== 'object' || typeof m.role !== 'string') {
        throw new InputError(`applyChatTemplate: messages[${i}] must be an object with a string 'role'`);
      }
      if (typeof m.content !== 'string' && !Array.isArray(m.content)) {
        throw new InputError(`applyChatTemplate: messages[${i}].content must be a string or a list of parts`);
      }
    }
    const context: Record<string, unknown> = {
      ...specialTokens,
      ...(options.templateKwargs ?? {}),
      messages,
      add_generation_prompt: options.addGenerationPrompt ?? false,
    };
    // Only define `enable_thinking` when asked: templates test `enable_thinking is defined`.
    if (options.enableThinking !== undefined) context.enable_thinking = options.enableThinking;
    try {
      return this.template.render(context);
    } catch (err) {
      throw new InputError(`${this.origin}: rendering failed: ${(err as Error).message}`);
    }
  }
}
