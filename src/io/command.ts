/**
 * Running external commands the way keepalived runs vrrp_script and notify scripts: the one command
 * runner both use (checks/script.ts, notify.ts).
 *
 * - The command is exec'd directly: argv is the command split on whitespace, quotes respected, no
 *   shell (keepalived does the same; a user who wants a pipe writes `sh -c '...'`).
 * - Each run gets its own session and process group (setsid), so a timeout can signal everything
 *   the script started, grandchildren included: SIGTERM to the group, SIGKILL 2 s later.
 * - Exit 0 is success; a non-zero status, a signal, a timeout or a failure to exec is failure.
 * - Commands start through the addon (clone with CLONE_VM | CLONE_VFORK, src/io/native/spawn.c),
 *   which also reaps them (a pidfd on the event loop, then waitid for that child); without it, Node's
 *   spawn, and libuv's SIGCHLD handler reaps. Either way nothing here leaves a zombie; grandchildren
 *   orphaned by a killed script are reparented to init, which reaps them.
 * - stdout and stderr are read and thrown away; the first few hundred bytes are kept for the log
 *   line that explains a failure, never more.
 * - Script security as keepalived's `enable_script_security`: a script that would run as root, or
 *   as vrrpd's own user while vrrpd holds capabilities (the shipped unit's CAP_NET_ADMIN and
 *   CAP_NET_RAW), is refused when its file, or any directory on the way to it, is not owned by root
 *   or is writable by a non-root group or by others (sticky directories such as /tmp excepted).
 *   Without enable_script_security such a script runs and a warning says why it should not. A
 *   command without a slash is looked up in PATH first, as keepalived does, and the file found is
 *   what is checked.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { lstatSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadPacketAddon, type PacketAddon } from './native.js';
import { capabilityNames, ownCapabilities } from './privileges.js';

/** keepalived's delay between SIGTERM and SIGKILL of a timed-out script. */
export const KILL_GRACE_MS = 2000;
/** How often a killed script's process group is checked for being empty. */
const GROUP_POLL_MS = 50;
/** Output kept from one run for the failure message. */
const MAX_KEPT_OUTPUT_BYTES = 512;
/** What PATH means when the daemon's environment has none (glibc's default, as execvp uses). */
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** A command or script that cannot be run as configured; the message names what to fix. */
export class ScriptSetupError extends Error {
  constructor(
    message: string,
    readonly code: 'bad_command' | 'not_found' | 'insecure' | 'unknown_user',
  ) {
    super(message);
    this.name = 'ScriptSetupError';
  }
}

// ---------------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------------

/**
 * Split a command line into argv like keepalived: words separated by whitespace; '...' and "..."
 * group words and are removed; a backslash outside single quotes takes the next character
 * literally. No variables, globs or redirections: nothing here is a shell.
 */
export function splitCommand(command: string): string[] {
  const argv: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < command.length && (command[i + 1] === '"' || command[i + 1] === '\\')) word += command[++i];
      else word += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\') {
      if (i + 1 >= command.length) throw new ScriptSetupError(`command ends with a lone backslash: ${command}`, 'bad_command');
      word += command[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) argv.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw new ScriptSetupError(`unbalanced ${quote} quote in command: ${command}`, 'bad_command');
  if (inWord) argv.push(word);
  if (argv.length === 0) throw new ScriptSetupError('empty command', 'bad_command');
  return argv;
}

/**
 * The file a command's first word runs: as written when it has a slash, else the first executable
 * match in PATH (execvp's rule). Throws ScriptSetupError when there is none.
 */
export function resolveExecutable(argv0: string, pathVariable: string = process.env['PATH'] ?? DEFAULT_PATH): string {
  const candidates = argv0.includes('/')
    ? [argv0.startsWith('/') ? argv0 : `${process.cwd()}/${argv0}`]
    : pathVariable.split(':').map((dir) => `${dir === '' ? '.' : dir.replace(/\/+$/, '')}/${argv0}`);
  for (const candidate of candidates) {
    try {
      const info = statSync(candidate);
      if (info.isFile() && (info.mode & 0o111) !== 0) return candidate.startsWith('/') ? candidate : `${process.cwd()}/${candidate}`;
    } catch {
      // Not here; try the next directory.
    }
  }
  throw new ScriptSetupError(
    argv0.includes('/') ? `${argv0} does not exist or is not an executable file` : `${argv0} not found in PATH (${pathVariable})`,
    'not_found',
  );
}

// ---------------------------------------------------------------------------------------------
// Script security
// ---------------------------------------------------------------------------------------------

/**
 * Why a root-run script at `file` (absolute) is not safe, naming the component at fault, or
 * undefined when it is. Both the path as written and the path after resolving symlinks are
 * checked, so a root-owned symlink into a user's directory does not pass.
 */
export function scriptSecurityProblem(file: string): string | undefined {
  const checked = new Set<string>();
  const paths = [file];
  try {
    const real = realpathSync(file);
    if (real !== file) paths.push(real);
  } catch (error) {
    return `cannot resolve ${file}: ${errorCode(error)}`;
  }
  for (const path of paths) {
    const parts = path.split('/').filter((p) => p.length > 0);
    const components = ['/', ...parts.map((_, i) => `/${parts.slice(0, i + 1).join('/')}`)];
    for (const component of components) {
      if (checked.has(component)) continue;
      checked.add(component);
      const problem = componentProblem(component);
      if (problem) return problem;
    }
  }
  return undefined;
}

function componentProblem(path: string): string | undefined {
  let info;
  try {
    info = lstatSync(path);
  } catch (error) {
    return `cannot stat ${path}: ${errorCode(error)}`;
  }
  const what = info.isDirectory() ? 'directory' : info.isSymbolicLink() ? 'symlink' : 'file';
  if (info.uid !== 0) return `${what} ${path} is owned by uid ${info.uid}, not root`;
  // A symlink's own mode bits mean nothing; its target is checked through the resolved path.
  if (info.isSymbolicLink()) return undefined;
  // A sticky directory (/tmp) only lets owners remove or rename their own entries.
  if (info.isDirectory() && (info.mode & 0o1000) !== 0) return undefined;
  const mode = (info.mode & 0o7777).toString(8).padStart(4, '0');
  if ((info.mode & 0o002) !== 0) return `${what} ${path} is writable by others (mode ${mode})`;
  if ((info.mode & 0o020) !== 0 && info.gid !== 0) return `${what} ${path} is writable by group ${info.gid} (mode ${mode})`;
  return undefined;
}

/**
 * Whether enable_script_security's checks apply to a command run as `runAs`: when it runs as root,
 * or as vrrpd's own user while vrrpd holds any capability (whoever can change the script then runs
 * code as the user that holds CAP_NET_ADMIN, can signal vrrpd and read its configuration, and with
 * `script_capabilities: inherit` the script even holds the capabilities). A script that vrrpd, as
 * root, switches to another user loses every capability in the switch: keepalived's rule applies.
 */
export function needsScriptSecurity(runAs: RunAs, daemonCapabilities: bigint): boolean {
  return runAs.asRoot || (runAs.uid === undefined && daemonCapabilities !== 0n);
}

/** `as root`, or `as uid 998 (vrrpd itself), which holds CAP_NET_ADMIN, CAP_NET_RAW`. */
export function describeRunAsPrivilege(runAs: RunAs, daemonCapabilities: bigint): string {
  if (runAs.asRoot) return 'as root';
  return `as ${runAs.label}, which holds ${capabilityNames(daemonCapabilities).join(', ')}`;
}

function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException | undefined)?.code ?? (error instanceof Error ? error.message : String(error));
}

// ---------------------------------------------------------------------------------------------
// Users
// ---------------------------------------------------------------------------------------------

export interface RunAs {
  /** Absent: run as the daemon's own user. */
  uid?: number;
  gid?: number;
  /** For logs: `nobody:nogroup` or `vrrpd's own user`. */
  label: string;
  /** Whether the command will run with uid 0 (and so needs the security check). */
  asRoot: boolean;
}

/**
 * `user [group]` (a vrrp_script `user` or global_defs script_user) -> ids. Only root can switch
 * users; a daemon running as someone else runs scripts as itself, as keepalived does. A user or
 * group that does not exist is an error either way: it is a mistake in the configuration, and the
 * same file must not pass as one user and fail as another.
 */
export function resolveRunAs(userSpec: string | undefined, euid: number = process.geteuid?.() ?? 0): RunAs {
  const self: RunAs = { label: euid === 0 ? 'root (vrrpd itself)' : `uid ${euid} (vrrpd itself)`, asRoot: euid === 0 };
  if (userSpec === undefined) return self;
  const target = lookupUserSpec(userSpec);
  return euid === 0 ? target : self;
}

/** `user [group]` -> ids, whoever asks; throws ScriptSetupError('unknown_user'). */
export function lookupUserSpec(userSpec: string): RunAs & { uid: number; gid: number } {
  const [userName, groupName, extra] = userSpec.trim().split(/\s+/);
  if (!userName || extra !== undefined) throw new ScriptSetupError(`user must be 'USER' or 'USER GROUP', got '${userSpec}'`, 'unknown_user');
  const user = lookupEntry('passwd', userName);
  if (!user) throw new ScriptSetupError(`user '${userName}' does not exist`, 'unknown_user');
  const uid = Number(user[2]);
  let gid = Number(user[3]);
  if (groupName !== undefined) {
    const group = lookupEntry('group', groupName);
    if (!group) throw new ScriptSetupError(`group '${groupName}' does not exist`, 'unknown_user');
    gid = Number(group[2]);
  }
  return { uid, gid, label: `${userName}:${groupName ?? gid}`, asRoot: uid === 0 };
}

/**
 * A passwd/group entry by name (or number), split on ':'. /etc first (no fork); then getent, which
 * also asks NSS (LDAP, sssd) for users that only exist there.
 */
export function lookupEntry(database: 'passwd' | 'group', key: string): string[] | undefined {
  const matches = (fields: string[]): boolean => fields[0] === key || (/^\d+$/.test(key) && fields[2] === key);
  try {
    for (const line of readFileSync(`/etc/${database}`, 'utf8').split('\n')) {
      const fields = line.split(':');
      if (fields.length >= 4 && matches(fields)) return fields;
    }
  } catch {
    // No such file (a minimal container): getent below.
  }
  try {
    const line = execFileSync('getent', [database, key], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0] ?? '';
    const fields = line.split(':');
    return fields.length >= 4 ? fields : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// One run
// ---------------------------------------------------------------------------------------------

export interface RunOptions {
  /** Infinity for no timeout. */
  timeoutMs: number;
  /** SIGTERM -> SIGKILL delay; keepalived's 2 s by default. */
  killGraceMs?: number;
  uid?: number;
  gid?: number;
  env?: NodeJS.ProcessEnv;
  /** Force one way of starting it (tests); by default the addon's when it has one. */
  via?: Spawner;
}

export interface RunResult {
  ok: boolean;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** The exec failed (ENOENT, EACCES, EPERM for a uid change without root). */
  spawnError?: string;
  durationMs: number;
  /** The start of stdout+stderr, for the log line. */
  output: string;
}

export interface RunningCommand {
  pid: number | undefined;
  /** Resolves at exit, or at the timeout (as a failure) without waiting for the kill to work. */
  result: Promise<RunResult>;
  /**
   * Resolves when the command is gone: the process exited and was reaped, and after a timeout
   * also the rest of its group (or the SIGKILL was sent). A new run must wait for this.
   */
  exited: Promise<void>;
  /** Stop it now (daemon shutdown): SIGTERM to the group, SIGKILL after the grace time. */
  terminate(): void;
}

/** How a command is started: the addon's spawnCommand (no fork of the daemon), or Node's spawn. */
export type Spawner = 'native' | 'node';

/** Why the addon's spawner is not used (no addon, an addon built before it, an old kernel); undefined while it is. */
let nativeSpawnUnavailable: string | undefined;

function nativeSpawner(): Required<Pick<PacketAddon, 'spawnCommand' | 'commandOutput'>> | undefined {
  if (nativeSpawnUnavailable !== undefined) return undefined;
  try {
    const addon = loadPacketAddon();
    if (typeof addon.spawnCommand === 'function' && typeof addon.commandOutput === 'function') {
      return { spawnCommand: addon.spawnCommand.bind(addon), commandOutput: addon.commandOutput.bind(addon) };
    }
    nativeSpawnUnavailable = 'the addon was built without spawnCommand';
  } catch (error) {
    nativeSpawnUnavailable = error instanceof Error ? error.message : String(error);
  }
  return undefined;
}

/** The spawner runCommand uses by default, and if Node's, why (for logs and tests). */
export function defaultSpawner(): { spawner: Spawner; reason?: string } {
  return nativeSpawner() !== undefined ? { spawner: 'native' } : { spawner: 'node', reason: nativeSpawnUnavailable };
}

const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(Object.entries(osConstants.signals).map(([name, number]) => [number, name as NodeJS.Signals]));

/**
 * Start `file` with `argv` (argv[0] as the process sees it) in a new session and process group.
 *
 * Through the addon's spawnCommand when it has one (src/io/native/spawn.c): the child shares the
 * daemon's memory until it execs instead of getting a copy of its page tables, which is most of
 * what a Node spawn costs the daemon (native-notes/spawn.md). Node's spawn otherwise, with the
 * same guarantees. `via` picks one (tests).
 */
export function runCommand(file: string, argv: readonly string[], options: RunOptions): RunningCommand {
  const startedMs = performance.now();
  const killGraceMs = options.killGraceMs ?? KILL_GRACE_MS;
  let settleResult!: (result: RunResult) => void;
  let settleExited!: () => void;
  const result = new Promise<RunResult>((resolve) => (settleResult = resolve));
  const exited = new Promise<void>((resolve) => (settleExited = resolve));
  let resultDone = false;
  let exitedDone = false;
  let timedOut = false;
  let leaderExited = false;
  let killTimer: NodeJS.Timeout | undefined;
  let timeoutTimer: NodeJS.Timeout | undefined;
  let kept: Buffer = Buffer.alloc(0);
  /** The output so far, when it is not pushed as it comes (the addon keeps it until the exit). */
  let readKept: (() => void) | undefined;
  /** Stop reading the output (Node's pipes); the addon closes its own at the exit. */
  let closeOutput: () => void = () => undefined;

  const finishResult = (partial: Omit<RunResult, 'durationMs' | 'output' | 'timedOut'>): void => {
    if (resultDone) return;
    resultDone = true;
    readKept?.();
    settleResult({ ...partial, timedOut, durationMs: performance.now() - startedMs, output: kept.toString('utf8').trim() });
  };
  const finishExited = (): void => {
    if (exitedDone) return;
    exitedDone = true;
    if (killTimer) clearTimeout(killTimer);
    killTimer = undefined;
    settleExited();
  };
  const spawnFailed = (error: unknown): RunningCommand => {
    finishResult({ ok: false, exitCode: null, signal: null, spawnError: errorCode(error) });
    finishExited();
    return { pid: undefined, result, exited, terminate: () => undefined };
  };

  let pid: number | undefined;
  const onLeaderExit = (code: number | null, signal: NodeJS.Signals | null): void => {
    leaderExited = true;
    clearTimeout(timeoutTimer);
    finishResult({ ok: code === 0, exitCode: code, signal });
    closeOutput();
    // After a timeout, members of the group may outlive the leader: the SIGKILL stays armed for
    // them, and the run ends early if the group empties first (checked every 50 ms).
    if (killTimer && pid !== undefined && processGroupExists(pid)) {
      const poll = setInterval(() => {
        if (exitedDone || !processGroupExists(pid!)) {
          clearInterval(poll);
          finishExited();
        }
      }, GROUP_POLL_MS);
      return;
    }
    finishExited();
  };

  const native = options.via === 'node' ? undefined : nativeSpawner();
  if (options.via === 'native' && native === undefined) throw new Error(`the addon's spawnCommand is not available: ${nativeSpawnUnavailable}`);
  if (native !== undefined) {
    try {
      const env = options.env === undefined ? null : Object.entries(options.env).flatMap(([key, value]) => (value === undefined ? [] : [`${key}=${value}`]));
      pid = native.spawnCommand(file, argv.length > 0 ? argv : [file], env, options.uid ?? -1, options.gid ?? -1, MAX_KEPT_OUTPUT_BYTES, (code, signal, output) => {
        kept = output;
        onLeaderExit(code, signal === 0 ? null : (SIGNAL_NAMES.get(signal) ?? null));
      });
      const started = pid;
      readKept = () => {
        const output = native.commandOutput(started);
        if (output !== undefined) kept = output;
      };
    } catch (error) {
      if (errorCode(error) !== 'ENOSYS' || options.via === 'native') return spawnFailed(error);
      // A kernel without CLONE_PIDFD (before 5.2): Node's spawn from now on.
      nativeSpawnUnavailable = error instanceof Error ? error.message : String(error);
    }
  }
  if (pid === undefined) {
    let child: ChildProcess;
    try {
      child = spawn(file, argv.slice(1), {
        argv0: argv[0] ?? file,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        cwd: '/',
        env: options.env ?? process.env,
        ...(options.uid !== undefined ? { uid: options.uid } : {}),
        ...(options.gid !== undefined ? { gid: options.gid } : {}),
      });
    } catch (error) {
      return spawnFailed(error);
    }
    pid = child.pid;
    const keep = (chunk: Buffer): void => {
      if (kept.length < MAX_KEPT_OUTPUT_BYTES) kept = Buffer.concat([kept, chunk.subarray(0, MAX_KEPT_OUTPUT_BYTES - kept.length)]);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    // A grandchild may hold the pipes after the script exits; their errors are not ours to report.
    child.stdout?.on('error', () => undefined);
    child.stderr?.on('error', () => undefined);
    closeOutput = () => {
      child.stdout?.destroy();
      child.stderr?.destroy();
    };
    child.on('error', (error) => {
      // Emitted for a failed exec (no exit event follows) and for a failed kill (ignored: ESRCH).
      if (child.pid !== undefined) return;
      clearTimeout(timeoutTimer);
      finishResult({ ok: false, exitCode: null, signal: null, spawnError: errorCode(error) });
      finishExited();
    });
    child.on('exit', (code, signal) => onLeaderExit(code, signal));
  }

  const signalGroup = (signal: NodeJS.Signals): void => {
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // ESRCH: the whole group is already gone.
    }
  };
  const startKill = (): void => {
    if (killTimer || exitedDone) return;
    signalGroup('SIGTERM');
    killTimer = setTimeout(() => {
      killTimer = undefined;
      signalGroup('SIGKILL');
      if (leaderExited) finishExited();
      // Otherwise the leader's exit (certain after SIGKILL) finishes it.
    }, killGraceMs);
  };

  // Infinity: a process meant to run as long as vrrpd (a notify FIFO's reader script).
  if (!resultDone && Number.isFinite(options.timeoutMs)) {
    timeoutTimer = setTimeout(() => {
      timedOut = true;
      finishResult({ ok: false, exitCode: null, signal: null });
      startKill();
    }, options.timeoutMs);
  }

  return { pid, result, exited, terminate: startKill };
}

/**
 * Whether a live (not zombie) process is still in process group `pgid`. Signal 0 answers cheaply
 * when the group is gone; when it is not, /proc tells a live member from a zombie orphan that
 * only waits for init to reap it (which some inits do lazily) and that no signal can affect.
 */
export function processGroupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    if (errorCode(error) !== 'EPERM') return false;
  }
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return true; // no /proc: trust the signal
  }
  for (const entry of entries) {
    const first = entry.charCodeAt(0);
    if (first < 48 || first > 57) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      // Fields after the command: state ppid pgrp ...
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ', 3);
      if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') return true;
    } catch {
      // exited while we looked
    }
  }
  return false;
}

/** One line for logs: why a run failed (or that it passed). */
export function describeRunResult(result: RunResult, timeoutMs: number): string {
  let text: string;
  if (result.spawnError !== undefined) text = `cannot run: ${result.spawnError}`;
  else if (result.timedOut) text = `timed out after ${timeoutMs} ms`;
  else if (result.signal !== null) text = `killed by ${result.signal}`;
  else text = `exit status ${result.exitCode}`;
  const firstLine = result.output.split('\n')[0]?.slice(0, 160) ?? '';
  return firstLine.length > 0 && !result.ok ? `${text}: ${firstLine}` : text;
}

// ---------------------------------------------------------------------------------------------
// Preparing a command once, at start: what both scripts and notify commands go through
// ---------------------------------------------------------------------------------------------

export interface PrepareCommandOptions {
  command: string;
  /** The user it runs as (vrrp_script `user`, else global_defs script_user). */
  user: string | undefined;
  enableScriptSecurity: boolean;
  /** The effective uid vrrpd runs as (check-config: the --user); the process's own by default. */
  euid?: number;
  /** The capabilities vrrpd holds (effective | permitted); the process's own by default. */
  daemonCapabilities?: bigint;
  pathVariable?: string;
  /** Warn about checks that cannot work as their user (a `killall -0` probe): for health checks. */
  checksProcess?: boolean;
}

export interface PreparedCommand {
  file: string;
  argv: string[];
  runAs: RunAs;
  /**
   * Why the command may not do what is meant: an insecure file that runs anyway (no
   * enable_script_security; keepalived warns too), a user vrrpd cannot switch to, a check that
   * cannot work as the user it runs as (`killall -0` without root).
   */
  warnings: string[];
}

/**
 * Check a command once, as keepalived does at load: split, find in PATH, resolve the user, apply
 * script security. Throws ScriptSetupError naming the problem.
 */
export function prepareCommand(options: PrepareCommandOptions): PreparedCommand {
  const argv = splitCommand(options.command);
  const file = resolveExecutable(argv[0]!, options.pathVariable);
  const runAs = resolveRunAs(options.user, options.euid);
  const daemonCapabilities = options.daemonCapabilities ?? ownCapabilities(options.euid);
  const warnings: string[] = [];
  if (options.user !== undefined && runAs.uid === undefined) {
    warnings.push(`runs as vrrpd's own user (${runAs.label}): only root can run scripts as '${options.user}'`);
  }
  if (needsScriptSecurity(runAs, daemonCapabilities)) {
    const problem = scriptSecurityProblem(file);
    const who = describeRunAsPrivilege(runAs, daemonCapabilities);
    if (problem && options.enableScriptSecurity) {
      throw new ScriptSetupError(`refusing to run ${file} ${who}: ${problem} (enable_script_security requires every component to be owned by root and writable only by root)`, 'insecure');
    }
    if (problem) {
      warnings.push(`runs ${file} ${who} although ${problem}: whoever can change it runs code with vrrpd's privileges; set enable_script_security to refuse it`);
    }
  }
  if (options.checksProcess === true && !runAs.asRoot) {
    const signalZero = signalZeroProbe(argv);
    if (signalZero) warnings.push(signalZeroWarning(signalZero, runAs));
  }
  return { file, argv, runAs, warnings };
}

// ---------------------------------------------------------------------------------------------
// Checks that cannot work without root
// ---------------------------------------------------------------------------------------------

export interface SignalZeroProbe {
  /** killall, pkill or kill. */
  tool: 'killall' | 'pkill' | 'kill';
  /** The process name (killall, pkill) or pid (kill) it signals; '' when none was found. */
  target: string;
}

/** Shells whose `-c SCRIPT` is looked into. */
const SHELLS = new Set(['sh', 'bash', 'dash', 'ash', 'ksh', 'zsh', 'busybox']);

/**
 * Whether a command checks for a process by sending it signal 0 (`killall -0 NAME`, `pkill -0
 * NAME`, `kill -0 PID`, `killall -s 0 NAME`, ..., also inside `sh -c '...'`). Signalling another
 * user's process needs CAP_KILL, so run as anyone but root such a check gets EPERM from root's
 * kube-apiserver and fails although it runs.
 */
export function signalZeroProbe(argv: readonly string[]): SignalZeroProbe | undefined {
  const direct = signalZeroInWords(argv);
  if (direct) return direct;
  const shell = basename(argv[0] ?? '');
  const scriptIndex = argv.indexOf('-c') + 1;
  if (!SHELLS.has(shell) || scriptIndex === 0 || scriptIndex >= argv.length) return undefined;
  // Simple commands of the script, split at the shell's separators; good enough to spot a probe.
  for (const part of argv[scriptIndex]!.split(/[;&|\n()`]|\$\(/)) {
    let words: string[];
    try {
      words = splitCommand(part);
    } catch {
      continue;
    }
    const found = signalZeroInWords(words);
    if (found) return found;
  }
  return undefined;
}

function signalZeroInWords(input: readonly string[]): SignalZeroProbe | undefined {
  let words = [...input];
  while (words.length > 0 && ['exec', 'command', '!'].includes(words[0]!)) words = words.slice(1);
  const tool = basename(words[0] ?? '');
  if (tool !== 'killall' && tool !== 'pkill' && tool !== 'kill') return undefined;
  // pkill's -s is a session id, not a signal; kill also takes bash's -n.
  const signalOptions = tool === 'pkill' ? ['--signal'] : tool === 'kill' ? ['-s', '-n', '--signal'] : ['-s', '--signal'];
  let zero = false;
  let target = '';
  for (let i = 1; i < words.length; i++) {
    const word = words[i]!;
    if (word === '--') {
      target = words.at(-1) ?? target;
      break;
    }
    if (word === '-0') {
      zero = true;
    } else if (signalOptions.includes(word)) {
      if (words[i + 1] === '0') zero = true;
      i++;
    } else if (signalOptions.some((option) => word === `${option}0` || word === `${option}=0`)) {
      zero = true;
    } else if (!word.startsWith('-')) {
      target = word;
    }
  }
  return zero ? { tool, target } : undefined;
}

function signalZeroWarning(probe: SignalZeroProbe, runAs: RunAs): string {
  const what = probe.target === '' ? 'the process' : probe.tool === 'kill' ? `pid ${probe.target}` : probe.target;
  const instead = probe.tool === 'kill' || probe.target === '' ? '`process: NAME`' : `\`process: ${probe.target}\``;
  return (
    `cannot work as ${runAs.label}: '${probe.tool}' with signal 0 gets EPERM from a process of another user (root's kube-apiserver) ` +
    `without CAP_KILL, so the check fails while ${what} runs; use the built-in check ${instead} instead, which reads /proc ` +
    '(README "Checks without root")'
  );
}
