/** The command table's parser and help (src/cli/args.ts), without starting a process. */
import { describe, expect, it } from 'vitest';
import { commandHelp, parseCommand, synopsis, UsageError, type CommandSpec } from '../../src/cli/args.js';

const IMPORT: CommandSpec = {
  summary: 'Print (or write) a keepalived.conf as the equivalent vrrpd YAML.',
  positionals: { name: 'FILE', min: 1, max: 1 },
  options: { output: { type: 'string', short: 'o', arg: 'OUT', help: 'write the YAML to OUT' } },
};
const RUN: CommandSpec = {
  summary: 'Run the daemon.',
  options: {
    config: { type: 'string', short: 'c', arg: 'FILE', required: true, help: 'the configuration' },
    json: { type: 'boolean', help: 'JSON' },
    verbose: { type: 'boolean', short: 'v', help: 'more' },
  },
};

function usageError(spec: CommandSpec, argv: string[]): string {
  try {
    parseCommand(spec, argv);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error(`no usage error for ${argv.join(' ')}`);
}

describe('parseCommand', () => {
  it('parses long and short options, attached values and positionals', () => {
    expect(parseCommand(IMPORT, ['in.conf', '-o', 'out.yaml'])).toEqual({ values: { output: 'out.yaml' }, positionals: ['in.conf'], help: false });
    expect(parseCommand(IMPORT, ['--output=out.yaml', 'in.conf']).values).toEqual({ output: 'out.yaml' });
    expect(parseCommand(IMPORT, ['-oout.yaml', 'in.conf']).values).toEqual({ output: 'out.yaml' });
    expect(parseCommand(RUN, ['-vc', 'x.yaml']).values).toEqual({ verbose: true, config: 'x.yaml' });
  });

  it('--help and -h win over missing required options and positionals', () => {
    expect(parseCommand(RUN, ['--help']).help).toBe(true);
    expect(parseCommand(IMPORT, ['-h']).help).toBe(true);
  });

  it('names an unknown option as written, long or short, even grouped', () => {
    expect(usageError(RUN, ['--config', 'x', '--bogus'])).toBe("unknown option '--bogus'");
    expect(usageError(RUN, ['--bogus=1'])).toBe("unknown option '--bogus'");
    expect(usageError(RUN, ['-vx'])).toBe("unknown option '-x'");
  });

  it("does not take an option's value for an option, and stops at --", () => {
    // The value of --output is a file name that merely looks odd; after -- everything is positional.
    expect(parseCommand(IMPORT, ['--output=-weird', 'in.conf']).values).toEqual({ output: '-weird' });
    expect(parseCommand(IMPORT, ['--', '--not-an-option']).positionals).toEqual(['--not-an-option']);
  });

  it('says what is wrong with a value in one line', () => {
    expect(usageError(RUN, ['--config'])).toBe("--config needs a value (FILE); for one that starts with '-', write --config=VALUE");
    expect(usageError(RUN, ['--config', '--json'])).toBe("--config needs a value (FILE); for one that starts with '-', write --config=VALUE");
    expect(usageError(RUN, ['--config', 'x', '--json=yes'])).toBe('--json takes no value');
  });

  it('checks required options and the number of positionals', () => {
    expect(usageError(RUN, [])).toBe('--config FILE is required');
    expect(usageError(RUN, ['--config', 'x', 'extra'])).toBe("unexpected argument 'extra'");
    expect(usageError(IMPORT, [])).toBe('FILE is required');
    expect(usageError(IMPORT, ['a', 'b'])).toBe("unexpected argument 'b'");
  });
});

describe('help', () => {
  it('derives the synopsis and the option lines from the table', () => {
    expect(synopsis('import-keepalived', IMPORT)).toBe('vrrpd import-keepalived FILE [--output OUT]');
    expect(synopsis('run', RUN)).toBe('vrrpd run --config FILE [--json] [--verbose]');
    expect(commandHelp('import-keepalived', IMPORT)).toBe(`Usage: vrrpd import-keepalived FILE [--output OUT]

Print (or write) a keepalived.conf as the equivalent vrrpd YAML.

Options:
  -o, --output OUT  write the YAML to OUT
  -h, --help        show this help

Exit codes: 0 ok, 1 runtime failure, 2 usage, 3 configuration rejected.
`);
  });

  it('an option added to the table is parsed and documented with no other change', () => {
    const withForce: CommandSpec = { ...IMPORT, options: { ...IMPORT.options, force: { type: 'boolean', help: 'overwrite OUT if it exists' } } };
    expect(parseCommand(withForce, ['in.conf', '-o', 'out', '--force']).values).toEqual({ output: 'out', force: true });
    expect(synopsis('import-keepalived', withForce)).toBe('vrrpd import-keepalived FILE [--output OUT] [--force]');
    expect(commandHelp('import-keepalived', withForce)).toContain('\n      --force       overwrite OUT if it exists\n');
  });
});
