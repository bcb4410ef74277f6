#!/usr/bin/env node
/**
 * The `vrrpd` command. Subcommands are added as the daemon grows; each lives in its own module.
 */
import { parseArgs } from 'node:util';

const USAGE = `vrrpd - a VRRPv2 speaker that interoperates with keepalived

Usage:
  vrrpd run --config FILE [--socket PATH] [--log-level LEVEL]
  vrrpd status [--socket PATH] [--json]
  vrrpd check-config FILE...
  vrrpd release --config FILE
  vrrpd --help

Exit codes: 0 ok, 1 runtime failure, 2 usage, 3 configuration rejected.
`;

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: false });
  if (values.help || argv.length === 0) {
    process.stdout.write(USAGE);
    return argv.length === 0 ? 2 : 0;
  }
  process.stderr.write(`vrrpd: unknown command '${argv[0]}'\n\n${USAGE}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => { process.stderr.write(`vrrpd: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`); process.exitCode = 1; },
);
