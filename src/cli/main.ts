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
  vrrpd check-config [--user NAME] FILE...
      Validate configuration files; exit 3 when any is rejected.
  vrrpd release --config FILE
      Remove the configured virtual addresses (after a crash; systemd ExecStopPost).
  vrrpd lab [--scenario NAME] [--config-set recommended|seed] [--keepalived m2,m3] [--json]
      Build the seed's three masters and a client in network namespaces and show
      failovers as a client of the VIP sees them (root; vrrpd lab --help).
  vrrpd import-keepalived FILE [-o OUT]
      Print (or write) a keepalived.conf as the equivalent vrrpd YAML.
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
        const { values, positionals } = parse(rest, { user: { type: 'string' } });
        if (positionals.length === 0) throw new UsageError('check-config needs at least one FILE');
        const { checkConfigCommand } = await import('./check-config.js');
        return checkConfigCommand(positionals, process.stdout, process.stderr, values.user === undefined ? {} : { user: values.user as string });
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
        const { values, positionals } = parse(rest, { output: { type: 'string', short: 'o' } });
        if (positionals.length !== 1) throw new UsageError('import-keepalived needs exactly one FILE');
        const { importKeepalivedCommand } = await import('./import-keepalived.js');
        return importKeepalivedCommand(positionals[0]!, values.output as string | undefined, process.stdout, process.stderr);
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

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`vrrpd: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
