/**
 * The lab's network: the seed's three Kubernetes masters (ens32, 10.0.0.51-53) and a client
 * (10.0.0.10) on one bridge. Every host is a network namespace; the bridge lives in a "switch"
 * namespace of its own, so nothing is added to the machine's own namespace and no lab packet can
 * leave the lab. Each master also gets a PID namespace (a tiny init as its PID 1), so that the seed's
 * `killall -0 kube-apiserver` check sees only its own node's kube-apiserver, as on real masters.
 *
 * Nothing may be left behind: names carry a per-run prefix (vrdemo<pid>), every long-lived helper
 * dies with the lab process (PR_SET_PDEATHSIG through setpriv, and a node's init takes its whole PID
 * namespace with it), destroySync() runs from a process 'exit' handler, and a later run deletes the
 * namespaces of an earlier run whose process is gone (kill -9 runs no handler at all).
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';

export const VIP = '10.0.0.50';
/** The apiserver port the client probes behind the VIP. */
export const API_PORT = 6443;
export const NAME_PREFIX = 'vrdemo';
const LEFTOVER_PATTERN = /^vrdemo(\d+)(?:sw|m\d|client)$/;

export interface MasterSpec {
  /** Short id used in names and on the command line: m1..m3. */
  id: 'm1' | 'm2' | 'm3';
  /** What the seed calls it: master1..master3. */
  name: string;
  index: 1 | 2 | 3;
  address: string;
}

export const MASTERS: readonly MasterSpec[] = [
  { id: 'm1', name: 'master1', index: 1, address: '10.0.0.51' },
  { id: 'm2', name: 'master2', index: 2, address: '10.0.0.52' },
  { id: 'm3', name: 'master3', index: 3, address: '10.0.0.53' },
];
export const CLIENT_ADDRESS = '10.0.0.10';

/** PID 1 of a master: ignores stray signals and reaps orphans, so no zombie fools `killall -0`. */
const INIT_SCRIPT = 'trap "" TERM INT HUP QUIT USR1 USR2; while :; do sleep 1; done';
/** Long-lived helpers get SIGKILL when the lab process dies, even by SIGKILL. */
const DIE_WITH_LAB = ['--pdeathsig', 'SIGKILL'];

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: readonly string[], timeoutMs = 15_000): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, encoding: 'utf8' }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof (error as { code?: unknown }).code === 'number' ? Number((error as { code: number }).code) : 127;
      resolve({ code, stdout, stderr });
    });
  });
}

export async function must(cmd: string, args: readonly string[]): Promise<string> {
  const result = await run(cmd, args);
  if (result.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${result.code}): ${result.stderr.trim()}`);
  return result.stdout;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * `promise`, or `fallback` after `ms`, whichever comes first; the timer is cleared either way, so
 * a lab that is done does not linger for a timeout nobody waits for any more.
 */
export async function withTimeout<T, F>(promise: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<F>((resolve) => (timer = setTimeout(() => resolve(fallback), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Namespaces of earlier lab runs whose process is gone; returns the names deleted. */
export function removeLeftovers(): string[] {
  let listing = '';
  try {
    listing = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const line of listing.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const match = LEFTOVER_PATTERN.exec(name);
    if (match === null || Number(match[1]) === process.pid || pidAlive(Number(match[1]))) continue;
    try {
      execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
      removed.push(name);
    } catch {
      // someone else removed it
    }
  }
  return removed;
}

/** Host PIDs of a process's children (/proc/PID/task/PID/children); [] when it is gone. */
export async function childrenOf(pid: number): Promise<number[]> {
  try {
    const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
    return text.trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Wait until nsenter (or unshare) has forked what it runs; return that child's host PID. */
export async function innerPid(outer: ChildProcess, what: string): Promise<number> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    if (outer.exitCode !== null || outer.signalCode !== null) throw new Error(`${what}: exited before it started (${outer.exitCode ?? outer.signalCode})`);
    const children = await childrenOf(outer.pid!);
    if (children.length === 1) return children[0]!;
    if (Date.now() > deadline) throw new Error(`${what}: no child process after 5 s`);
    await sleep(5);
  }
}

export interface LabMaster extends MasterSpec {
  ns: string;
  /** Its end of the veth on the switch: taking it down is pulling the node's cable. */
  switchPort: string;
  /** Host PID of the node's init, PID 1 of its PID namespace. */
  initPid: number;
}

export class Topology {
  readonly switchNs: string;
  readonly clientNs: string;
  readonly masters = new Map<string, LabMaster>();
  private readonly namespaces: string[] = [];
  private readonly children = new Set<ChildProcess>();
  private destroyed = false;

  private constructor(readonly prefix: string) {
    this.switchNs = `${prefix}sw`;
    this.clientNs = `${prefix}client`;
  }

  /** Build the whole network; on failure everything made so far is deleted before the error is thrown. */
  static async create(prefix: string, onCreated: (topology: Topology) => void): Promise<Topology> {
    const topology = new Topology(prefix);
    onCreated(topology);
    try {
      await topology.build();
    } catch (error) {
      topology.destroySync();
      throw error;
    }
    return topology;
  }

  get namespaceNames(): readonly string[] {
    return this.namespaces;
  }

  private async addNamespace(ns: string): Promise<void> {
    await must('ip', ['netns', 'add', ns]);
    this.namespaces.push(ns);
    await must('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  }

  private async build(): Promise<void> {
    const sw = this.switchNs;
    await this.addNamespace(sw);
    await must('ip', ['-n', sw, 'link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0']);
    await must('ip', ['-n', sw, 'link', 'set', 'br0', 'up']);
    const hosts = [...MASTERS.map((m) => ({ ns: `${this.prefix}${m.id}`, address: m.address })), { ns: this.clientNs, address: CLIENT_ADDRESS }];
    let port = 0;
    for (const host of hosts) {
      port++;
      await this.addNamespace(host.ns);
      await must('ip', ['-n', sw, 'link', 'add', `p${port}`, 'type', 'veth', 'peer', 'name', `e${port}`]);
      await must('ip', ['-n', sw, 'link', 'set', `e${port}`, 'netns', host.ns]);
      await must('ip', ['-n', host.ns, 'link', 'set', `e${port}`, 'name', 'ens32']);
      await must('ip', ['-n', host.ns, 'addr', 'add', `${host.address}/24`, 'dev', 'ens32']);
      await must('ip', ['-n', sw, 'link', 'set', `p${port}`, 'master', 'br0', 'up']);
      await must('ip', ['-n', host.ns, 'link', 'set', 'ens32', 'up']);
    }
    port = 0;
    for (const spec of MASTERS) {
      port++;
      const ns = `${this.prefix}${spec.id}`;
      // unshare --kill-child: when this init dies, the kernel kills everything in its PID namespace.
      const init = this.spawnIn(ns, 'unshare', ['--pid', '--fork', '--mount-proc', '--kill-child', 'bash', '-c', INIT_SCRIPT]);
      const initPid = await innerPid(init, `${spec.name}: init`);
      this.masters.set(spec.id, { ...spec, ns, switchPort: `p${port}`, initPid });
    }
  }

  master(id: string): LabMaster {
    const master = this.masters.get(id);
    if (master === undefined) throw new Error(`no master ${id}`);
    return master;
  }

  private track(child: ChildProcess): ChildProcess {
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    // A helper that cannot start (ENOENT) must not crash the lab with an unhandled 'error'.
    child.on('error', () => undefined);
    return child;
  }

  /**
   * A long-running command in a network namespace, dying with the lab. Detached into its own
   * process group, so a Ctrl-C at the terminal reaches only the lab, which then stops everything
   * in order instead of every daemon reacting on its own.
   */
  spawnIn(ns: string, cmd: string, args: readonly string[]): ChildProcess {
    return this.track(spawn('ip', ['netns', 'exec', ns, 'setpriv', ...DIE_WITH_LAB, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true }));
  }

  /**
   * A long-running command inside a master's network, PID and mount namespaces (its own /proc).
   * nsenter forks once to enter the PID namespace; the returned pid is that inner process, which is
   * what signals must reach. It dies with the node's init, which dies with the lab.
   */
  async spawnOnMaster(id: string, cmd: string, args: readonly string[], workDir: string): Promise<{ child: ChildProcess; pid: number }> {
    const master = this.master(id);
    const child = this.track(
      spawn('nsenter', ['-t', String(master.initPid), '-p', '-m', '-n', `--wd=${workDir}`, '--', cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true }),
    );
    return { child, pid: await innerPid(child, `${master.name}: ${cmd}`) };
  }

  /** Pull (or plug back) a master's cable: its switch port goes down, its ens32 loses carrier. */
  async setCable(id: string, up: boolean): Promise<void> {
    await must('ip', ['-n', this.switchNs, 'link', 'set', this.master(id).switchPort, up ? 'up' : 'down']);
  }

  /** Kill every helper and delete every namespace. Synchronous, so it can run in an 'exit' handler. */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const child of this.children) {
      try {
        // The whole group: `ip netns exec`/setpriv exec in place, nsenter leaves its child in its group.
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }
    for (const master of this.masters.values()) {
      try {
        process.kill(master.initPid, 'SIGKILL');
      } catch {
        // gone with its group
      }
    }
    // Hosts first: deleting a namespace deletes its veth end, and with it the switch port.
    for (const ns of [...this.namespaces].reverse()) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
  }

  /** Like destroySync, but waits until the helpers have exited, so their output is complete. */
  async destroy(): Promise<void> {
    const children = [...this.children];
    const exited = children.map((child) => new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.once('exit', resolve))));
    this.destroySync();
    await withTimeout(Promise.all(exited), 3_000, undefined);
  }
}
