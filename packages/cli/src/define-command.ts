import { parseArgs } from 'node:util';
import { DTYPE_HELP } from './args.js';
import { backendHelp, COMPUTE_HELP, selectBackend } from './backend-option.js';
import { UsageError } from './cli-error.js';
import type { CliIo, Command } from './io.js';

/** One option: what node:util's parseArgs takes, plus its line in --help. */
interface OptionBase {
  short?: string;
  /** the value's name in --help, e.g. '<px>' (string options) */
  value?: string;
  /** the --help text; each '\n' starts a continuation line under it */
  help: string;
}
export interface StringOption extends OptionBase {
  type: 'string';
  multiple?: false;
}
export interface ListOption extends OptionBase {
  type: 'string';
  multiple: true;
}
export interface FlagOption extends OptionBase {
  type: 'boolean';
}
export type OptionSpec = StringOption | ListOption | FlagOption;
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;
export type OptionValues<O extends OptionSpecs> = { [K in keyof O]?: O[K] extends FlagOption ? boolean : O[K] extends ListOption ? string[] : string };

/** A string option: `--name <value>`. */
export const text = (value: string, help: string, short?: string): StringOption => ({ type: 'string', value, help, short });
/** A repeatable string option. */
export const list = (value: string, help: string, short?: string): ListOption => ({ type: 'string', multiple: true, value, help, short });
/** A boolean option. */
export const flag = (help: string, short?: string): FlagOption => ({ type: 'boolean', help, short });

/** The options every command that runs a model spells the same way. */
export const BACKEND_OPTIONS = { backend: text('<name>', backendHelp()), compute: text('<p>', COMPUTE_HELP) } as const;
export const DTYPE_OPTION = { dtype: text('<t>', DTYPE_HELP) } as const;
export const VERBOSE_OPTION = { verbose: flag('also say which backends auto passed over, and why', 'v') } as const;

export interface CommandContext<O extends OptionSpecs> {
  values: OptionValues<O>;
  positionals: string[];
  io: CliIo;
  /** The backend of --backend / SDXS_BACKEND with --compute, and the line naming it (not under --json or -q; --verbose adds auto's reasons). */
  selectBackend(): Promise<string>;
}

export interface CommandSpec<O extends OptionSpecs> {
  name: string;
  summary: string;
  /** the usage lines and the description: the help text above the options */
  usage: string;
  /** the positional arguments' lines in the options table */
  args?: readonly (readonly [string, string])[];
  options: O;
  /** the help text below the options */
  epilog?: string;
  /**
   * A word that must come first (`sdxs eval vae`): without it the help prints with the usage exit code; another
   * word is a usage error with `unknown(word)` as its message.
   */
  subcommand?: { word: string; unknown: (got: string) => string };
  /**
   * Another package parses the arguments (train, data): `usage` is the whole help, printed (`helpFor(argv)` where
   * given) for `-h`/`--help` anywhere, and with the usage exit code for no arguments where `needsArguments`; `run`
   * gets the arguments as they are in `positionals`.
   */
  passthrough?: { needsArguments?: boolean; helpFor?: (argv: string[]) => string };
  run(ctx: CommandContext<O>): Promise<number>;
}

const HELP_OPTION = { help: flag('this text', 'h') } as const;
const MAX_COLUMN = 28;

/** The options table: `  -W, --width <px>   width ...`, the texts in one column. */
function optionLines(args: readonly (readonly [string, string])[], options: OptionSpecs): string {
  const rows: [string, string][] = [
    ...args.map(([name, help]): [string, string] => [`  ${name}`, help]),
    ...(Object.entries({ ...options, ...HELP_OPTION }) as [string, OptionSpec][]).map(([name, o]): [string, string] => [
      `  ${o.short ? `-${o.short}, ` : '    '}--${name}${o.value ? ` ${o.value}` : ''}`,
      o.help,
    ]),
  ];
  const column = Math.min(MAX_COLUMN, Math.max(...rows.map(([left]) => left.length)) + 2);
  return rows
    .map(([left, help]) => {
      const [first, ...more] = help.split('\n');
      const head = left.length + 2 > column ? `${left}  ${first}` : `${left.padEnd(column)}${first}`;
      return [head, ...more.map((l) => `${' '.repeat(column)}${l}`)].join('\n');
    })
    .join('\n');
}

/** Parse `argv` against the options; a bad one is a usage error naming the command and --help. */
function parse(command: string, argv: string[], options: OptionSpecs): { values: Record<string, unknown>; positionals: string[] } {
  const all: [string, OptionSpec][] = Object.entries({ ...options, ...HELP_OPTION });
  const config = Object.fromEntries(all.map(([k, o]) => [k, { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.type === 'string' && o.multiple ? { multiple: true } : {}) }]));
  try {
    return parseArgs({ args: argv, options: config, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(`sdxs ${command}: ${(e as Error).message.replace(/\. To specify.*$/s, '')} (see sdxs ${command} --help)`);
  }
}

/** A command whose options, --help text and backend selection come from one description. */
export function defineCommand<O extends OptionSpecs>(spec: CommandSpec<O>): Command {
  const help = spec.passthrough ? spec.usage : [spec.usage, optionLines(spec.args ?? [], spec.options), ...(spec.epilog ? [spec.epilog] : [])].join('\n\n');
  return {
    name: spec.name,
    summary: spec.summary,
    help,
    async run(argv: string[], io: CliIo): Promise<number> {
      const through = spec.passthrough;
      if (through) {
        const asked = argv.includes('-h') || argv.includes('--help');
        if (asked || (argv.length === 0 && through.needsArguments)) {
          io.stdout.write(`${(asked && through.helpFor?.(argv)) || help}\n`);
          return asked ? 0 : 2;
        }
        return spec.run({ values: {}, positionals: argv, io, selectBackend: () => selectBackend(spec.name, undefined, io) });
      }
      let name = spec.name;
      let rest = argv;
      if (spec.subcommand) {
        const [word, ...after] = argv;
        if (!word || word === '-h' || word === '--help') {
          io.stdout.write(`${help}\n`);
          return word ? 0 : 2;
        }
        if (word !== spec.subcommand.word) throw new UsageError(spec.subcommand.unknown(word));
        name = `${spec.name} ${word}`;
        rest = after;
      }
      const { values, positionals } = parse(name, rest, spec.options);
      if (values.help) {
        io.stdout.write(`${help}\n`);
        return 0;
      }
      const v = values as { backend?: string; compute?: string; json?: boolean; quiet?: boolean; verbose?: boolean };
      return spec.run({
        values: values as OptionValues<O>,
        positionals,
        io,
        selectBackend: () => selectBackend(name, v.backend, io, { compute: v.compute, json: v.json, quiet: v.quiet, verbose: v.verbose }),
      });
    },
  };
}

