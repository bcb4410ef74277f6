/**
 * The processes of the lab and what they say: a VRRP daemon per master (the real `vrrpd run` of
 * this package, or keepalived), a kube-apiserver stand-in per master, the client's probe, and one
 * `ip monitor address` per master that reports VIP changes as the kernel makes them. Each turns its
 * output into lab events through a callback; none of them decides anything.
 */
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { readFileSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { API_PORT, sleep, VIP, withTimeout, type LabMaster, type Topology } from './topology.js';

/** The package's own files, found from this module (dist/lab/ in the package). */
const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const VRRPD_MAIN = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const APISERVER_JS = fileURLToPath(new URL('./apiserver.js', import.meta.url));
const PROBE_JS = fileURLToPath(new URL('./probe.js', import.meta.url));

export type ConfigSet = 'recommended' | 'seed';

/**
 * preempt_delay of the recommended config in the lab (unless --preempt-delay says otherwise). The
 * example's 30 s would make every return of the VIP to master1 take half a minute (and keepalived
 * counts it from the first lower advert seen, then adds Master_Down); the lab shows the same
 * behaviour at a tenth of the wait.
 */
export const LAB_PREEMPT_DELAY_S = 3;
/** preempt_delay in examples/recommended. */
export const EXAMPLE_PREEMPT_DELAY_S = 30;

function replaceOnce(text: string, from: RegExp, to: string, file: string): string {
  const matches = text.match(new RegExp(from.source, 'g')) ?? [];
  if (matches.length !== 1) throw new Error(`${file}: expected one match of ${from}, found ${matches.length}`);
  return text.replace(from, to);
}

/** The example config of master N for this config set, as the lab runs it. */
export function vrrpdConfig(set: ConfigSet, index: 1 | 2 | 3, caFile: string | undefined, preemptDelayS = LAB_PREEMPT_DELAY_S): string {
  if (set === 'seed') return readFileSync(join(PACKAGE_ROOT, 'examples', 'preempt', `master${index}.yaml`), 'utf8');
  const file = join(PACKAGE_ROOT, 'examples', 'recommended', `master${index}.yaml`);
  let text = readFileSync(file, 'utf8');
  text = replaceOnce(text, /ca_file: \/etc\/kubernetes\/pki\/ca\.crt/, `ca_file: ${caFile}`, file);
  text = replaceOnce(text, new RegExp(`preempt_delay: ${EXAMPLE_PREEMPT_DELAY_S} `), `preempt_delay: ${preemptDelayS} `, file);
  return text;
}

/** The seed's keepalived.conf of master N, unchanged. */
export function keepalivedConfig(index: 1 | 2 | 3): string {
  return readFileSync(join(PACKAGE_ROOT, 'examples', 'keepalived', 'preempt', `master${index}.conf`), 'utf8');
}

/** A CA and a serving certificate for `kubernetes`, as kubeadm makes them (a name, not 127.0.0.1). */
export function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
  const openssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=vrrpd-lab-ca');
  openssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=kubernetes');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=DNS:kubernetes\n');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '1', '-extfile', 'san.ext');
  return { ca: join(dir, 'ca.crt'), cert: join(dir, 'server.crt'), key: join(dir, 'server.key') };
}

export interface ProcessEvent {
  timeMs: number;
  kind: 'state' | 'check' | 'link' | 'error';
  node: string;
  text: string;
  /** For kind 'state': the state entered. */
  state?: string;
}

export type EventSink = (event: ProcessEvent) => void;

export function exitedPromise(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** A process inside a master's namespaces, signalled by its own host PID (nsenter passes nothing on). */
export class NodeProcess {
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  protected stderrTail = '';

  constructor(
    readonly child: ChildProcess,
    readonly pid: number,
  ) {
    this.exited = exitedPromise(child);
    child.stderr?.on('data', (chunk: Buffer) => (this.stderrTail = (this.stderrTail + chunk.toString()).slice(-4_000)));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  signal(signal: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      process.kill(this.pid, signal);
    } catch {
      // already gone
    }
  }

  get errors(): string {
    return this.stderrTail.trim();
  }
}

export interface Daemon {
  readonly kind: 'vrrpd' | 'keepalived';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly running: boolean;
  signal(signal: NodeJS.Signals): void;
}

/**
 * A VRRP daemon that says when its instance runs (has entered its first state). The lab starts
 * master1's daemon and waits for that before it starts the others: with every node starting in
 * BACKUP, the first Master_Down to run out wins, and master1's is only 4 ms shorter than master2's.
 */
abstract class StartedDaemon extends NodeProcess {
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
    if (outcome !== 'started') throw new Error(`${this.name} did not start (${outcome}): ${this.errors || 'no output on stderr'}`);
  }

  protected abstract readonly name: string;
}

/** `vrrpd run` on a master: its pino JSON lines become state, check and link events. */
export class VrrpdDaemon extends StartedDaemon implements Daemon {
  readonly kind = 'vrrpd' as const;
  protected readonly name = 'vrrpd';

  constructor(child: ChildProcess, pid: number, master: LabMaster, sink: EventSink) {
    super(child, pid);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      const parsedTime = typeof entry.time === 'string' ? Date.parse(entry.time) : typeof entry.time === 'number' ? entry.time : NaN;
      const timeMs = Number.isFinite(parsedTime) ? parsedTime : Date.now();
      const who = `${master.name} vrrpd`;
      if (entry.msg === 'vrrpd started') {
        this.markStarted();
      } else if (typeof entry.from === 'string' && typeof entry.to === 'string') {
        const causes = Array.isArray(entry.fault_causes) && entry.fault_causes.length > 0 ? `, failing: ${entry.fault_causes.join(', ')}` : '';
        sink({ timeMs, kind: 'state', node: master.name, state: entry.to, text: `${who}: ${entry.from} -> ${entry.to} (${String(entry.reason)}, priority ${String(entry.effective_priority)}${causes})` });
      } else if (entry.event === 'preempt_delay_started') {
        // A master below our priority is still accepted (Master_Down reset) until preempt_delay has run out.
        sink({ timeMs, kind: 'state', node: master.name, text: `${who}: lower-priority master; preempt_delay ${String(entry.detail)} starts, until then it stays BACKUP` });
      } else if (entry.event === 'priority_changed') {
        sink({ timeMs, kind: 'check', node: master.name, text: `${who}: priority ${String(entry.detail)}` });
      } else if (entry.msg === 'link down' || entry.msg === 'link up') {
        sink({ timeMs, kind: 'link', node: master.name, text: `${who}: ${String(entry.interface)} ${entry.msg}` });
      } else if (typeof entry.level === 'number' && entry.level >= 50) {
        sink({ timeMs, kind: 'error', node: master.name, text: `${who}: ${String(entry.msg)}` });
      }
    });
  }
}

/** keepalived 2.x in the foreground (-n) logging to the console (-l); its state lines become events. */
export class KeepalivedDaemon extends StartedDaemon implements Daemon {
  readonly kind = 'keepalived' as const;
  protected readonly name = 'keepalived';

  constructor(child: ChildProcess, pid: number, master: LabMaster, sink: EventSink) {
    super(child, pid);
    const who = `${master.name} keepalived`;
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (raw) => {
        // "Wed Nov 25 19:46:27 2026: (VI_1) Entering MASTER STATE": keepalived's clock has 1 s resolution.
        const line = raw.replace(/^\w{3} \w{3} +\d+ [\d:]+ \d{4}: /, '');
        const state = /\(\S+\) Entering (\w+) STATE/.exec(line);
        if (state) {
          // Its first state line ("Entering BACKUP STATE (init)") means the instance runs.
          this.markStarted();
          sink({ timeMs: Date.now(), kind: 'state', node: master.name, state: state[1]!, text: `${who}: -> ${state[1]!}` });
          return;
        }
        const script = /VRRP_Script\((\S+)\) (succeeded|failed)/.exec(line) ?? /Script `(\S+)` now returning (\d+)/.exec(line);
        if (script) sink({ timeMs: Date.now(), kind: 'check', node: master.name, text: `${who}: ${line.trim()}` });
        else if (/Netlink reports \S+ down|Netlink reports \S+ up/.test(line)) sink({ timeMs: Date.now(), kind: 'link', node: master.name, text: `${who}: ${line.trim()}` });
      });
    }
  }
}

/** The kube-apiserver stand-in of one master (see apiserver.ts). */
export class Apiserver extends NodeProcess {}

/** Everything of one master that runs inside its namespaces. */
export class MasterNode {
  daemon: Daemon | undefined;
  apiserver: Apiserver | undefined;
  private serial = 0;

  constructor(
    private readonly topology: Topology,
    readonly master: LabMaster,
    readonly daemonKind: 'vrrpd' | 'keepalived',
    private readonly configSet: ConfigSet,
    private readonly preemptDelayS: number,
    private readonly dir: string,
    private readonly certs: { ca: string; cert: string; key: string } | undefined,
    private readonly sink: EventSink,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  /** Start the kube-apiserver stand-in and wait until it listens. */
  async startApiserver(): Promise<void> {
    const bin = join(this.dir, 'bin', 'kube-apiserver');
    try {
      mkdirSync(join(this.dir, 'bin'), { recursive: true });
      // The check matches the comm, which comes from the name exec'd: a symlink named kube-apiserver.
      symlinkSync(process.execPath, bin);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const tls = this.certs === undefined ? [] : ['--cert', this.certs.cert, '--key', this.certs.key];
    const { child, pid } = await this.topology.spawnOnMaster(this.master.id, bin, [APISERVER_JS, '--name', this.master.name, '--port', String(API_PORT), ...tls], this.dir);
    const apiserver = new Apiserver(child, pid);
    const listening = new Promise<boolean>((resolve) => {
      child.stdout!.once('data', () => resolve(true));
      void apiserver.exited.then(() => resolve(false));
    });
    if (!(await withTimeout(listening, 10_000, false))) throw new Error(`${this.master.name}: kube-apiserver stand-in did not start: ${apiserver.errors}`);
    this.apiserver = apiserver;
  }

  /** SIGKILL the stand-in (the apiserver dies) and wait until it is reaped. */
  async killApiserver(): Promise<void> {
    const apiserver = this.apiserver;
    if (apiserver === undefined || !apiserver.running) throw new Error(`${this.master.name}: kube-apiserver is not running`);
    apiserver.signal('SIGKILL');
    await apiserver.exited;
  }

  /** Start this node's VRRP daemon with the lab's config. */
  async startDaemon(): Promise<Daemon> {
    const id = `${this.daemonKind}-${++this.serial}`;
    const index = this.master.index;
    if (this.daemonKind === 'keepalived') {
      const configPath = join(this.dir, `${id}.conf`);
      writeFileSync(configPath, keepalivedConfig(index));
      const pidFile = (what: string): string => join(this.dir, `${id}-${what}.pid`);
      // -n foreground, -l log to the console, -D detailed, -G no syslog; own pid files (one file system for all nodes).
      const { child, pid } = await this.topology.spawnOnMaster(
        this.master.id,
        'keepalived',
        ['-n', '-l', '-D', '-G', '-f', configPath, '-p', pidFile('main'), '-r', pidFile('vrrp'), '-c', pidFile('checkers')],
        this.dir,
      );
      const daemon = new KeepalivedDaemon(child, pid, this.master, this.sink);
      this.daemon = daemon;
      await daemon.waitStarted(15_000);
      return daemon;
    }
    const configPath = join(this.dir, `${id}.yaml`);
    writeFileSync(configPath, vrrpdConfig(this.configSet, index, this.certs?.ca, this.preemptDelayS));
    const socketPath = join(this.dir, `${id}.sock`);
    const { child, pid } = await this.topology.spawnOnMaster(
      this.master.id,
      process.execPath,
      [VRRPD_MAIN, 'run', '--config', configPath, '--socket', socketPath, '--log-level', 'info'],
      this.dir,
    );
    const daemon = new VrrpdDaemon(child, pid, this.master, this.sink);
    this.daemon = daemon;
    await daemon.waitStarted(15_000);
    return daemon;
  }
}

export interface ProbeReply {
  node: string;
  timeMs: number;
  prevNode: string | null;
  prevTimeMs: number | null;
}

/** The client's probe process (see probe.ts) and the latest it reported. */
export class Probe {
  /** The latest reply: who and when. */
  last: { node: string; timeMs: number } | undefined;
  readonly replies: ProbeReply[] = [];
  private readonly waiters = new Set<() => void>();

  private constructor(private readonly child: ChildProcess, onReply: (reply: ProbeReply) => void) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let message: { event?: string; node?: string | null; t?: number | null; prev_node?: string | null; prev_t?: number | null };
      try {
        message = JSON.parse(line) as typeof message;
      } catch {
        return;
      }
      if (message.event === 'reply' && typeof message.node === 'string' && typeof message.t === 'number') {
        const reply = { node: message.node, timeMs: message.t, prevNode: message.prev_node ?? null, prevTimeMs: message.prev_t ?? null };
        this.replies.push(reply);
        this.last = { node: reply.node, timeMs: reply.timeMs };
        onReply(reply);
      } else if (message.event === 'hb' && typeof message.node === 'string' && typeof message.t === 'number') {
        if (this.last === undefined || message.t > this.last.timeMs) this.last = { node: message.node, timeMs: message.t };
      }
      for (const waiter of this.waiters) waiter();
    });
  }

  static async start(topology: Topology, onReply: (reply: ProbeReply) => void): Promise<Probe> {
    const child = topology.spawnIn(topology.clientNs, process.execPath, [PROBE_JS, VIP, String(API_PORT), '10']);
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const probe = new Probe(child, onReply);
    const ready = new Promise<boolean>((resolve) => {
      child.stdout!.once('data', () => resolve(true));
      child.once('exit', () => resolve(false));
    });
    if (!(await withTimeout(ready, 10_000, false))) throw new Error(`the client's probe did not start: ${stderr.trim()}`);
    return probe;
  }

  /** Resolve with the first reply (from index `from` on) that matches; reject on timeout or abort. */
  waitFor(match: (reply: ProbeReply) => boolean, from: number, timeoutMs: number, signal: AbortSignal): Promise<ProbeReply | undefined> {
    return new Promise((resolve, reject) => {
      const finish = (value: ProbeReply | undefined, error?: Error): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        signal.removeEventListener('abort', onAbort);
        if (error) reject(error);
        else resolve(value);
      };
      const check = (): void => {
        const found = this.replies.slice(from).find(match);
        if (found) finish(found);
      };
      const onAbort = (): void => finish(undefined, signal.reason as Error);
      const timer = setTimeout(() => finish(undefined), timeoutMs);
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(check);
      check();
    });
  }
}

/** Who holds the VIP, from each master's kernel address notifications. */
export class VipWatch {
  readonly holders = new Set<string>();

  constructor(
    private readonly topology: Topology,
    private readonly onChange: (node: string, held: boolean, timeMs: number) => void,
  ) {}

  async start(): Promise<void> {
    for (const master of this.topology.masters.values()) {
      const monitor = this.topology.spawnIn(master.ns, 'ip', ['-4', '-o', 'monitor', 'address']);
      createInterface({ input: monitor.stdout! }).on('line', (line) => {
        if (!line.includes(` inet ${VIP}/`)) return;
        const held = !line.startsWith('Deleted');
        if (this.holders.has(master.name) === held) return;
        if (held) this.holders.add(master.name);
        else this.holders.delete(master.name);
        this.onChange(master.name, held, Date.now());
      });
    }
    // The monitors need a moment to subscribe before anything may change.
    await sleep(150);
  }
}
