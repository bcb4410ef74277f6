/**
 * The command line as data: each command is an entry of a table (its options, positionals and
 * help), and parsing, `--help` and usage errors are derived from that entry, so every command
 * answers `--help`, `-h` and an unknown option the same way, and an option is one line in the table.
 */
import { parseArgs } from 'node:util';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** The value's placeholder in the help, e.g. FILE. */
  arg?: string;
  /** One line (more lines are indented under it). */
  help: string;
  /** A string option the command cannot run without. */
  required?: boolean;
}

export interface CommandSpec {
  /** One line for the overview of all commands. */
  summary: string;
  /** Positional arguments: their placeholder and how many (max undefined: any number). */
  positionals?: { name: string; min: number; max?: number };
  options: Record<string, OptionSpec>;
  /** Text after the options: what the choices mean, examples. */
  details?: string;
  /** When the exit codes differ from the usual ones. */
  exitCodes?: string;
  /** `sudo ` for commands that need root. */
  prefix?: string;
}

export type Values = Record<string, string | boolean | undefined>;

export interface ParsedCommand {
  values: Values;
  positionals: string[];
  /** `--help` or `-h` was given: print the help and run nothing. */
  help: boolean;
}

/** A mistake in the command line: exit 2 with one line and the command's usage. */
export class UsageError extends Error {}

export const EXIT_CODES = 'Exit codes: 0 ok, 1 runtime failure, 2 usage, 3 configuration rejected.';

const HELP: OptionSpec = { type: 'boolean', short: 'h', help: 'show this help' };

function withHelp(spec: CommandSpec): Record<string, OptionSpec> {
  return { ...spec.options, help: HELP };
}

function flag(name: string, option: OptionSpec): string {
  return `--${name}${option.arg ? ` ${option.arg}` : ''}`;
}

/** `vrrpd run --config FILE [--socket PATH]`: required options bare, the others in brackets. */
export function synopsis(name: string, spec: CommandSpec): string {
  const parts = [`${spec.prefix ?? ''}vrrpd ${name}`];
  const p = spec.positionals;
  if (p !== undefined) {
    const many = p.max === undefined || p.max > 1 ? '...' : '';
    parts.push(p.min > 0 ? `${p.name}${many}` : `[${p.name}${many}]`);
  }
  for (const [option, o] of Object.entries(spec.options)) parts.push(o.required ? flag(option, o) : `[${flag(option, o)}]`);
  return parts.join(' ');
}

/** The whole help of one command, as `vrrpd CMD --help` prints it. */
export function commandHelp(name: string, spec: CommandSpec): string {
  const options = Object.entries(withHelp(spec)).map(([option, o]) => [`${o.short ? `-${o.short}, ` : '    '}${flag(option, o)}`, o.help] as const);
  const width = Math.max(...options.map(([left]) => left.length)) + 2;
  const lines = options.map(([left, help]) => `  ${left.padEnd(width)}${help.split('\n').join(`\n  ${' '.repeat(width)}`)}`);
  const details = spec.details === undefined ? '' : `\n${spec.details.trimEnd()}\n`;
  return `Usage: ${synopsis(name, spec)}\n\n${spec.summary}\n\nOptions:\n${lines.join('\n')}\n${details}\n${spec.exitCodes ?? EXIT_CODES}\n`;
}

/** Each option as parseArgs wants it. */
function parseArgsOptions(options: Record<string, OptionSpec>): Record<string, { type: 'string' | 'boolean'; short?: string }> {
  return Object.fromEntries(Object.entries(options).map(([name, o]) => [name, o.short === undefined ? { type: o.type } : { type: o.type, short: o.short }]));
}

/**
 * The first argument that is not an option of this command, named as the user wrote it. Checked
 * before parseArgs, whose own message for it ("Unknown option ... To specify a positional argument
 * starting with a '-' ...") reads like an internal error.
 */
function unknownOption(argv: readonly string[], options: Record<string, OptionSpec>): string | undefined {
  const shorts = new Map(Object.entries(options).flatMap(([name, o]) => (o.short ? [[o.short, name] as const] : [])));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return undefined;
    if (arg.startsWith('--')) {
      const name = arg.slice(2).split('=')[0]!;
      const option = options[name];
      if (option === undefined) return `--${name}`;
      if (option.type === 'string' && !arg.includes('=')) i++;
    } else if (arg.startsWith('-') && arg.length > 1) {
      // -abc: flags grouped, or -cFILE: a short option with its value attached.
      for (let j = 1; j < arg.length; j++) {
        const name = shorts.get(arg[j]!);
        if (name === undefined) return `-${arg[j]!}`;
        if (options[name]!.type === 'string') {
          if (j === arg.length - 1) i++;
          break;
        }
      }
    }
  }
  return undefined;
}

/** Parse one command's arguments against its table entry; throws UsageError with one clear line. */
export function parseCommand(spec: CommandSpec, argv: readonly string[]): ParsedCommand {
  const options = withHelp(spec);
  const unknown = unknownOption(argv, options);
  if (unknown !== undefined) throw new UsageError(`unknown option '${unknown}'`);
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options: parseArgsOptions(options), allowPositionals: true, strict: true }) as typeof parsed;
  } catch (error) {
    // What is left is a value problem: `--socket` at the end, `--json=1`, `--config --json`.
    const named = /'(--?[\w-]+)/.exec((error as Error).message)?.[1]?.replace(/^-+/, '') ?? '';
    const long = options[named] !== undefined ? named : Object.keys(options).find((k) => options[k]!.short === named);
    if (long !== undefined) {
      const o = options[long]!;
      throw new UsageError(o.type === 'boolean' ? `--${long} takes no value` : `--${long} needs a value (${o.arg ?? 'VALUE'}); for one that starts with '-', write --${long}=VALUE`);
    }
    throw new UsageError((error as Error).message.split('\n')[0]!);
  }
  const help = parsed.values.help === true;
  delete parsed.values.help;
  if (help) return { values: parsed.values, positionals: parsed.positionals, help };
  for (const [option, o] of Object.entries(spec.options)) {
    if (o.required && parsed.values[option] === undefined) throw new UsageError(`${flag(option, o)} is required`);
  }
  const p = spec.positionals ?? { name: '', min: 0, max: 0 };
  const count = parsed.positionals.length;
  if (p.max !== undefined && count > p.max) throw new UsageError(`unexpected argument '${parsed.positionals[p.max]}'`);
  if (count < p.min) throw new UsageError(p.min === 1 ? `${p.name} is required` : `at least ${p.min} ${p.name}s are required`);
  return { values: parsed.values, positionals: parsed.positionals, help };
}

/** A string option's value (undefined when not given). */
export function stringValue(values: Values, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}
