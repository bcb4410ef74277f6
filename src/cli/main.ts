#!/usr/bin/env node
/**
 * The `vrrpd` command: parses arguments with node:util parseArgs and hands each subcommand to its
 * own module, loaded on demand so that `vrrpd status` never pays for the daemon's imports.
 * Exit codes: 0 ok, 1 runtime failure, 2 usage, 3 configuration rejected.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { DEFAULT_SOCKET_PATH } from '../daemon/control.js';

export const USAGE = `vrrpd - a VRRPv2 speaker that interoperates with keepalived

Usage:
  vrrpd run --config FILE [--socket PATH] [--log-level LEVEL]
      Run the daemon. FILE is vrrpd YAML or a keepalived.conf.
  vrrpd status [--socket PATH] [--json]
      Show the instances of the running daemon.
  vrrpd check-config FILE...
      Validate configuration files; exit 3 when any is rejected.
  vrrpd release --config FILE
      Remove the configured virtual addresses (after a crash; systemd ExecStopPost).
  vrrpd lab [--scenario NAME] [--config-set recommended|seed] [--keepalived m2,m3] [--json]
      Build the seed's three masters and a client in network namespaces and show
      failovers as a client of the VIP sees them (root; vrrpd lab --help).
  vrrpd import-keepalived FILE [-o OUT [--force]]
      Print (or write, mode 0640; --force replaces OUT) a keepalived.conf as the
      equivalent vrrpd YAML.
  vrrpd --help

Options:
  --socket PATH      control socket (default: the config's vrrpd.socket, else ${DEFAULT_SOCKET_PATH})
  --log-level LEVEL  fatal|error|warn|info|debug|trace|silent (default: the config's
                     vrrpd.log_level, else info)

Exit codes: 0 ok, 1 runtime failure, 2 usage, 3 configuration rejected.
`;

class UsageError extends Error {}

function parse(args: string[], options: ParseArgsConfig['options']) {
  try {
    return parseArgs({ args, options: options ?? {}, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
        process.stderr.write(USAGE);
        return 2;
      case '--help':
      case '-h':
      case 'help':
        process.stdout.write(USAGE);
        return 0;
      case 'status': {
        const { values } = parse(rest, { socket: { type: 'string' }, json: { type: 'boolean' } });
        const { statusCommand } = await import('./status.js');
        return statusCommand(values.socket as string | undefined ?? DEFAULT_SOCKET_PATH, values.json === true, process.stdout, process.stderr);
      }
      case 'check-config': {
        const { positionals } = parse(rest, {});
        if (positionals.length === 0) throw new UsageError('check-config needs at least one FILE');
        const { checkConfigCommand } = await import('./check-config.js');
        return checkConfigCommand(positionals, process.stdout, process.stderr);
      }
      case 'run': {
        const { values, positionals } = parse(rest, { config: { type: 'string', short: 'c' }, socket: { type: 'string' }, 'log-level': { type: 'string' } });
        if (typeof values.config !== 'string') throw new UsageError('run needs --config FILE');
        if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
        const { runCommand } = await import('./run.js');
        return runCommand({ configPath: values.config, socketPath: values.socket as string | undefined, logLevel: values['log-level'] as string | undefined });
      }
      case 'release': {
        const { values } = parse(rest, { config: { type: 'string', short: 'c' } });
        if (typeof values.config !== 'string') throw new UsageError('release needs --config FILE');
        const { releaseCommand } = await import('./run.js');
        return releaseCommand(values.config, process.stdout, process.stderr);
      }
      case 'lab': {
        // The lab parses its own options (vrrpd lab --help).
        const { labCommand } = await import('./lab.js');
        return labCommand(rest, process.stdout, process.stderr);
      }
      case 'import-keepalived': {
        const { values, positionals } = parse(rest, { output: { type: 'string', short: 'o' }, force: { type: 'boolean' } });
        if (positionals.length !== 1) throw new UsageError('import-keepalived needs exactly one FILE');
        if (values.force === true && typeof values.output !== 'string') throw new UsageError('--force only applies with -o OUT');
        const { importKeepalivedCommand } = await import('./import-keepalived.js');
        return importKeepalivedCommand(positionals[0]!, values.output as string | undefined, process.stdout, process.stderr, { force: values.force === true });
      }
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`vrrpd: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    throw err;
  }
}

// A reader that goes away (`vrrpd check-config ... | head -1`) ends the output, not the command: Node
// ignores SIGPIPE, so each write to the closed pipe fails with EPIPE, and an unhandled 'error' event
// would crash with a stack trace. The rest of the output is dropped and the command finishes with
// its own exit code, as it would if SIGPIPE had only stopped the writing.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`vrrpd: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
