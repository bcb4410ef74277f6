/**
 * Handles on the two VRRP daemons a lab runs, wherever they run (a host's network namespace, or a
 * node's PID namespace too): the real `vrrpd run` of this package (dist/cli/main.js), read from its
 * pino JSON lines and `vrrpd status --json`; and keepalived 2.x in the foreground, read from its
 * console log through the one parser of its lines here.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import { ProcessHandle, VRRPD_MAIN, waitForItem, withTimeout, type ExecResult, type Place } from './exec.js';

let serial = 0;

/** A VRRP daemon that can say when its instance runs (has entered its first state). */
abstract class DaemonProcess extends ProcessHandle {
  abstract readonly kind: 'vrrpd' | 'keepalived';
  private started = false;
  private readonly startWaiters: Array<() => void> = [];

  protected markStarted(): void {
    this.started = true;
    for (const waiter of this.startWaiters.splice(0)) waiter();
  }

  /** Resolve once the daemon runs its instance; reject with its stderr if it exits first. */
  async waitStarted(timeoutMs: number): Promise<void> {
    if (this.started) return;
    const started = new Promise<void>((resolve) => this.startWaiters.push(resolve));
    const outcome = await withTimeout(Promise.race([started.then(() => 'started'), this.exited.then(() => 'exited')]), timeoutMs, 'timeout');
    if (outcome !== 'started') throw new Error(`${this.kind} did not start (${outcome}): ${this.errors || 'no output on stderr'}`);
  }
}

export interface LogLine {
  level: number;
  /** Wall-clock ms of the line (pino's time). */
  timeMs: number;
  msg: string;
  [key: string]: unknown;
}

/** What `status()` needs: running a command in the daemon's network namespace. */
export interface StatusRunner {
  exec(nsOrHost: string, cmd: string, args: readonly string[], timeoutMs?: number): Promise<ExecResult>;
}

export interface VrrpdOptions {
  /** The config file's extension, which picks the format: .yaml (the default) or .conf. */
  ext?: '.yaml' | '.conf';
  logLevel?: 'debug' | 'info';
}

/** `vrrpd run` with its JSON log on stdout and its control socket. */
export class VrrpdProcess extends DaemonProcess {
  readonly kind = 'vrrpd' as const;
  readonly lines: LogLine[] = [];
  private readonly listeners = new Set<(line: LogLine) => void>();

  constructor(
    private readonly runner: StatusRunner,
    readonly host: string,
    readonly socketPath: string,
    readonly configPath: string,
    child: ChildProcess,
    pid: number = child.pid!,
  ) {
    super(child, pid);
    createInterface({ input: child.stdout! }).on('line', (text) => {
      let line: LogLine;
      try {
        const parsed = JSON.parse(text) as Record<string, unknown>;
        const time = typeof parsed.time === 'string' ? Date.parse(parsed.time) : typeof parsed.time === 'number' ? parsed.time : NaN;
        line = { ...parsed, timeMs: Number.isFinite(time) ? time : Date.now() } as LogLine;
      } catch {
        line = { level: 0, timeMs: Date.now(), msg: text };
      }
      this.lines.push(line);
      if (line.msg === 'vrrpd started') this.markStarted();
      for (const listener of this.listeners) listener(line);
    });
  }

  /** The command that starts it, with its config written into `dir`. */
  static command(dir: string, configText: string, options: VrrpdOptions = {}): { cmd: string; args: string[]; configPath: string; socketPath: string } {
    const id = `vrrpd-${++serial}`;
    const configPath = join(dir, `${id}${options.ext ?? '.yaml'}`);
    const socketPath = join(dir, `${id}.sock`);
    writeFileSync(configPath, configText);
    // One state directory per place (a node): a drain outlives a restart of the node's daemon, and
    // never reaches another node's or the machine's /var/lib/vrrpd.
    const stateDir = join(dir, 'vrrpd-state');
    return { cmd: process.execPath, args: [VRRPD_MAIN, 'run', '--config', configPath, '--socket', socketPath, '--log-level', options.logLevel ?? 'debug', '--state-dir', stateDir], configPath, socketPath };
  }

  /** Write the config and start `vrrpd run` at a place. */
  static async start(place: Place, configText: string, options: VrrpdOptions = {}): Promise<VrrpdProcess> {
    const { cmd, args, configPath, socketPath } = VrrpdProcess.command(place.dir, configText, options);
    const { child, pid } = await place.spawn(cmd, args);
    return new VrrpdProcess({ exec: (_host, c, a, t) => place.exec(c, a, t) }, place.name, socketPath, configPath, child, pid);
  }

  /** Each line: those already read at once, then each as it comes. */
  onLine(listener: (line: LogLine) => void): void {
    for (const line of this.lines) listener(line);
    this.listeners.add(listener);
  }

  transitions(): LogLine[] {
    return this.lines.filter((l) => typeof l.from === 'string' && typeof l.to === 'string');
  }

  /** Wait for a log line matching `match`, from `afterIndex` on. */
  waitForLine(match: (line: LogLine) => boolean, timeoutMs: number, afterIndex = 0): Promise<LogLine> {
    return waitForItem(this.lines, match, timeoutMs, afterIndex, () => `${this.host}: no matching log line within ${timeoutMs} ms; log:\n${this.log()}`);
  }

  waitForState(state: string, timeoutMs: number, afterIndex = 0): Promise<LogLine> {
    return this.waitForLine((l) => l.to === state, timeoutMs, afterIndex);
  }

  /** The whole log and stderr, for messages. */
  log(): string {
    return `${this.lines.map((l) => JSON.stringify(l)).join('\n')}\nstderr: ${this.errors}`;
  }

  async status(): Promise<{ instances: Array<Record<string, unknown>>; daemon: { event_loop_lag_ms: number; [key: string]: unknown } }> {
    const result = await this.runner.exec(this.host, process.execPath, [VRRPD_MAIN, 'status', '--json', '--socket', this.socketPath]);
    if (result.code !== 0) throw new Error(`status failed (${result.code}): ${result.stderr}`);
    return JSON.parse(result.stdout) as { instances: Array<Record<string, unknown>>; daemon: { event_loop_lag_ms: number } };
  }
}

export interface KeepalivedLine {
  /** When the line reached the lab (keepalived's console timestamps have 1 s resolution). */
  timeMs: number;
  /** The line without keepalived's own timestamp. */
  text: string;
}

/** What a keepalived line says that the lab follows: a state entered, a check's result, a link event. */
export interface KeepalivedNews {
  kind: 'state' | 'check' | 'link';
  /** For kind 'state': the state entered. */
  state?: string;
}

/** The one parser of keepalived's console lines ("Wed Nov 25 19:46:27 2026: (VI_1) Entering MASTER STATE"). */
export function parseKeepalivedLine(raw: string): { text: string; news?: KeepalivedNews } {
  const text = raw.replace(/^\w{3} \w{3} +\d+ [\d:]+ \d{4}: /, '');
  const state = /\(\S+\) Entering (\w+) STATE/.exec(text);
  if (state) return { text, news: { kind: 'state', state: state[1]! } };
  if (/VRRP_Script\((\S+)\) (succeeded|failed)/.test(text) || /Script `(\S+)` now returning (\d+)/.test(text)) return { text, news: { kind: 'check' } };
  if (/Netlink reports \S+ (down|up)/.test(text)) return { text, news: { kind: 'link' } };
  return { text };
}

export interface KeepalivedOptions {
  /** -D, detailed logging (the default). */
  detailed?: boolean;
  /** -P, only the VRRP subsystem. */
  vrrpOnly?: boolean;
}

/** keepalived in the foreground (-n) logging to the console (-l). */
export class KeepalivedProcess extends DaemonProcess {
  readonly kind = 'keepalived' as const;
  readonly lines: KeepalivedLine[] = [];
  private readonly listeners = new Set<(line: KeepalivedLine, news: KeepalivedNews | undefined) => void>();

  constructor(
    child: ChildProcess,
    pid: number,
    readonly host: string,
    readonly configPath: string,
  ) {
    super(child, pid);
    // -l logs to stderr; stdout is read too so that nothing is lost if that changes.
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (raw) => {
        const { text, news } = parseKeepalivedLine(raw);
        const line = { timeMs: Date.now(), text };
        this.lines.push(line);
        // Its first state line ("Entering BACKUP STATE (init)") means the instance runs.
        if (news?.kind === 'state') this.markStarted();
        for (const listener of this.listeners) listener(line, news);
      });
    }
  }

  /** Write the config and start keepalived at a place, with pid files of its own (all nodes share one file system). */
  static async start(place: Place, configText: string, options: KeepalivedOptions = {}): Promise<KeepalivedProcess> {
    const id = `keepalived-${++serial}`;
    const configPath = join(place.dir, `${id}.conf`);
    writeFileSync(configPath, configText);
    const pidFile = (what: string): string => join(place.dir, `${id}-${what}.pid`);
    // -n foreground, -l log to the console, -D detailed, -P VRRP only, -G no syslog.
    const flags = ['-n', '-l', ...(options.detailed === false ? [] : ['-D']), ...(options.vrrpOnly ? ['-P'] : []), '-G'];
    const { child, pid } = await place.spawn('keepalived', [...flags, '-f', configPath, '-p', pidFile('main'), '-r', pidFile('vrrp'), '-c', pidFile('checkers')]);
    return new KeepalivedProcess(child, pid, place.name, configPath);
  }

  /** Each line with what it says: those already read at once, then each as it comes. */
  onLine(listener: (line: KeepalivedLine, news: KeepalivedNews | undefined) => void): void {
    for (const line of this.lines) listener(line, parseKeepalivedLine(line.text).news);
    this.listeners.add(listener);
  }

  /** The states keepalived announced, in order ("Entering MASTER STATE" and friends). */
  states(): Array<{ timeMs: number; state: string }> {
    return this.lines.flatMap((l) => {
      const state = parseKeepalivedLine(l.text).news?.state;
      return state === undefined ? [] : [{ timeMs: l.timeMs, state }];
    });
  }

  waitForLine(match: RegExp, timeoutMs: number, afterIndex = 0): Promise<KeepalivedLine> {
    return waitForItem(this.lines, (l) => match.test(l.text), timeoutMs, afterIndex, () => `keepalived on ${this.host}: no line matching ${match} within ${timeoutMs} ms; log:\n${this.log()}`);
  }

  waitForState(state: string, timeoutMs: number, afterIndex = 0): Promise<KeepalivedLine> {
    return this.waitForLine(new RegExp(`Entering ${state} STATE`), timeoutMs, afterIndex);
  }

  log(): string {
    return this.lines.map((l) => l.text).join('\n');
  }
}

export type Daemon = VrrpdProcess | KeepalivedProcess;
