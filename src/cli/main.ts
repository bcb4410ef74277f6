#!/usr/bin/env node
/**
 * The `vrrpd` command. Every subcommand is one entry of COMMANDS: its options, positionals and help
 * (parsed and printed by args.ts) and a handler that loads its module on demand, so that
 * `vrrpd status` never pays for the daemon's imports. An option is one line in its entry.
 * Exit codes: 0 ok, 1 runtime failure, 2 usage, 3 configuration rejected.
 */
import { readFileSync } from 'node:fs';
import { DEFAULT_SOCKET_PATH } from '../daemon/control.js';
import { DEFAULT_STATE_DIR } from '../daemon/state.js';
import { commandHelp, EXIT_CODES, parseCommand, stringValue, synopsis, UsageError, type CommandSpec, type ParsedCommand } from './args.js';

interface Command extends CommandSpec {
  /** Help text that lives with the command's own module (loaded only for --help). */
  loadDetails?: () => Promise<string>;
  run(args: ParsedCommand): Promise<number>;
}

const DEFAULT_DRAIN_TIMEOUT_S = 10;

/** --timeout SECONDS: a positive number, at most an hour. */
function parseTimeout(text: string | undefined): number {
  if (text === undefined) return DEFAULT_DRAIN_TIMEOUT_S;
  const seconds = Number(text);
  if (text.trim() === '' || !Number.isFinite(seconds) || seconds <= 0 || seconds > 3600) throw new UsageError(`--timeout must be a number of seconds above 0 and at most 3600, got '${text}'`);
  return seconds;
}

const COMMANDS: Record<string, Command> = {
  run: {
    summary: 'Run the daemon. FILE is vrrpd YAML or a keepalived.conf.',
    options: {
      config: { type: 'string', short: 'c', arg: 'FILE', required: true, help: 'the configuration: vrrpd YAML or a keepalived.conf' },
      socket: { type: 'string', arg: 'PATH', help: `control socket (default: the config's vrrpd.socket, else ${DEFAULT_SOCKET_PATH})` },
      'log-level': { type: 'string', arg: 'LEVEL', help: "fatal|error|warn|info|debug|trace|silent (default: the config's\nvrrpd.log_level, else info)" },
      'state-dir': { type: 'string', arg: 'DIR', help: `what survives a restart (the drain); default ${DEFAULT_STATE_DIR}` },
    },
    async run({ values }) {
      const { runCommand } = await import('./run.js');
      return runCommand({ configPath: stringValue(values, 'config')!, socketPath: stringValue(values, 'socket'), logLevel: stringValue(values, 'log-level'), stateDir: stringValue(values, 'state-dir') });
    },
  },
  status: {
    summary: 'Show the instances of the running daemon (as root or a member of the socket\'s group).',
    options: {
      socket: { type: 'string', arg: 'PATH', help: `the daemon's control socket (default ${DEFAULT_SOCKET_PATH})` },
      json: { type: 'boolean', help: 'print {"instances": [...]} as JSON instead of a table' },
    },
    async run({ values }) {
      const { statusCommand } = await import('./status.js');
      return statusCommand(stringValue(values, 'socket') ?? DEFAULT_SOCKET_PATH, values.json === true, process.stdout, process.stderr);
    },
  },
  drain: {
    summary: "Take this node out of the elections before maintenance (a kubeadm upgrade): every instance\n(or NAME) goes FAULT with the cause drained, a MASTER says goodbye with priority 0 and removes\nits VIPs. Kept across restarts until 'vrrpd undrain'. Returns once this node holds none of them.",
    options: {
      instance: { type: 'string', arg: 'NAME', help: 'drain this instance only (default: every instance, also ones a reload adds)' },
      socket: { type: 'string', arg: 'PATH', help: `the daemon's control socket (default ${DEFAULT_SOCKET_PATH})` },
      timeout: { type: 'string', arg: 'SECONDS', help: `how long to wait for the VIPs to leave this node (default ${DEFAULT_DRAIN_TIMEOUT_S})` },
    },
    exitCodes: 'Exit codes: 0 drained and none of the VIPs on this node, 1 refused, timed out or not saved, 2 usage.',
    async run({ values }) {
      const timeout = parseTimeout(stringValue(values, 'timeout'));
      const { drainCommand } = await import('./drain.js');
      return drainCommand({ socketPath: stringValue(values, 'socket') ?? DEFAULT_SOCKET_PATH, instance: stringValue(values, 'instance'), timeoutMs: timeout * 1000 }, process.stdout, process.stderr);
    },
  },
  undrain: {
    summary: 'Let drained instances back into the elections: they go BACKUP, and preempt decides who holds the VIP.',
    options: {
      instance: { type: 'string', arg: 'NAME', help: 'undrain this instance only (default: every instance)' },
      socket: { type: 'string', arg: 'PATH', help: `the daemon's control socket (default ${DEFAULT_SOCKET_PATH})` },
    },
    async run({ values }) {
      const { undrainCommand } = await import('./drain.js');
      return undrainCommand({ socketPath: stringValue(values, 'socket') ?? DEFAULT_SOCKET_PATH, instance: stringValue(values, 'instance') }, process.stdout, process.stderr);
    },
  },
  'check-config': {
    summary: 'Validate configuration files (vrrpd YAML or keepalived.conf) without touching the network.\nGiven the files of all nodes, also compare them (VRID, advert_int, auth, VIPs, peers).',
    positionals: { name: 'FILE', min: 0 },
    options: {
      config: { type: 'string', short: 'c', arg: 'FILE', help: 'a file to check, as `run` takes it (the same as naming it as FILE)' },
      user: { type: 'string', arg: 'NAME', help: "check as the user vrrpd will run as (the packaged unit: vrrpd); default: you" },
    },
    exitCodes: 'Exit codes: 0 every file accepted, 2 usage, 3 a file rejected or the nodes disagree.',
    async run({ positionals, values }) {
      const { checkConfigCommand } = await import('./check-config.js');
      const user = stringValue(values, 'user');
      const config = stringValue(values, 'config');
      const files = config === undefined ? positionals : [config, ...positionals];
      if (files.length === 0) throw new UsageError('FILE (or --config FILE) is required');
      return checkConfigCommand(files, process.stdout, process.stderr, user === undefined ? {} : { user });
    },
  },
  release: {
    summary: 'Remove the configured virtual addresses (after a crash; systemd ExecStopPost).',
    options: {
      config: { type: 'string', short: 'c', arg: 'FILE', required: true, help: 'the configuration whose virtual addresses to remove' },
    },
    async run({ values }) {
      const { releaseCommand } = await import('./run.js');
      return releaseCommand(stringValue(values, 'config')!, process.stdout, process.stderr);
    },
  },
  lab: {
    prefix: 'sudo ',
    summary: "Build the seed's three masters and a client in network namespaces on this machine, run\nthe real daemons, break the master and show each failover as a client of the VIP sees it.",
    options: {
      scenario: { type: 'string', arg: 'NAME', help: 'run one scenario (default: all; see below)' },
      'config-set': { type: 'string', arg: 'recommended|seed|v3|dual-stack', help: 'the configuration of the vrrpd nodes (default: recommended; v3: VRRPv3 at\nadvert_int 0.1, sub-second crash failover; dual-stack: an IPv4 and an IPv6 VIP\nin one sync group; see below)' },
      keepalived: { type: 'string', arg: 'NODES', help: "run keepalived 2.x with the seed's keepalived.conf on these masters\ninstead of vrrpd, e.g. m2,m3 (m1..m3 or master1..master3)" },
      'preempt-delay': { type: 'string', arg: 'S', help: "preempt_delay of the recommended config in the lab, in seconds\n(default 3; examples/recommended has 30)" },
      json: { type: 'boolean', help: 'print one JSON document (events and summary) instead of the live timeline' },
    },
    exitCodes: 'Exit codes: 0 every scenario went as expected, 1 one did not, 2 usage or missing prerequisites,\n130 interrupted.',
    loadDetails: async () => (await import('./lab.js')).LAB_DETAILS,
    async run({ values }) {
      const { labCommand } = await import('./lab.js');
      return labCommand(values, process.stdout, process.stderr);
    },
  },
  'import-keepalived': {
    summary: 'Print (or write) a keepalived.conf as the equivalent vrrpd YAML.',
    positionals: { name: 'FILE', min: 1, max: 1 },
    options: {
      output: { type: 'string', short: 'o', arg: 'OUT', help: 'write the YAML to OUT (mode 0640) instead of standard output' },
      force: { type: 'boolean', help: 'with -o: replace OUT if it exists (it holds auth_pass: it is never clobbered silently)' },
    },
    exitCodes: 'Exit codes: 0 converted, 1 OUT could not be written, 2 usage (FILE is not a keepalived.conf),\n3 FILE rejected.',
    async run({ positionals, values }) {
      if (values.force === true && stringValue(values, 'output') === undefined) throw new UsageError('--force only applies with -o OUT');
      const { importKeepalivedCommand } = await import('./import-keepalived.js');
      return importKeepalivedCommand(positionals[0]!, stringValue(values, 'output'), process.stdout, process.stderr, { force: values.force === true });
    },
  },
};

function version(): string {
  // dist/cli/main.js and src/cli/main.ts both sit two levels below package.json.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** The overview: every command's synopsis and summary. */
function overview(): string {
  const commands = Object.entries(COMMANDS).map(([name, spec]) => `  ${synopsis(name, spec)}\n      ${spec.summary.split('\n').join('\n      ')}`);
  return `vrrpd ${version()} - a VRRPv2 speaker that interoperates with keepalived

Usage:
${commands.join('\n')}
  vrrpd help COMMAND   (or vrrpd COMMAND --help)
      A command's options.
  vrrpd --version

${EXIT_CODES}
`;
}

async function help(name: string): Promise<string> {
  const spec = COMMANDS[name]!;
  return commandHelp(name, spec.loadDetails ? { ...spec, details: await spec.loadDetails() } : spec);
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined) {
    process.stderr.write(overview());
    return 2;
  }
  if (command === '--help' || command === '-h' || (command === 'help' && (rest.length === 0 || rest[0] === '--help' || rest[0] === '-h'))) {
    process.stdout.write(overview());
    return 0;
  }
  if (command === '--version' || command === '-V') {
    process.stdout.write(`vrrpd ${version()}\n`);
    return 0;
  }
  const name = command === 'help' ? rest[0]! : command;
  if (!Object.hasOwn(COMMANDS, name) || (command === 'help' && rest.length > 1)) {
    const what = command === 'help' && rest.length > 1 ? `help takes one COMMAND; got '${rest.join(' ')}'` : `unknown ${command.startsWith('-') ? 'option' : 'command'} '${name}'`;
    process.stderr.write(`vrrpd: ${what}\n\n${overview()}`);
    return 2;
  }
  const spec = COMMANDS[name]!;
  try {
    if (command === 'help') {
      process.stdout.write(await help(name));
      return 0;
    }
    const parsed = parseCommand(spec, rest);
    if (parsed.help) {
      process.stdout.write(await help(name));
      return 0;
    }
    return await spec.run(parsed);
  } catch (err) {
    if (err instanceof UsageError) {
      // One line naming the mistake, then the command's usage (not the whole help, whose options
      // would push the line that matters off the screen).
      process.stderr.write(`vrrpd ${name}: ${err.message}\nUsage: ${synopsis(name, spec)}\nSee 'vrrpd ${name} --help' for the options.\n`);
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
