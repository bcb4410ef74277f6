/**
 * The lab's network, and the only code that creates network namespaces: hosts on one bridge, each
 * a network namespace with a veth named ens32 inside (like the Kubernetes masters vrrpd runs on).
 * The bridge lives in a "switch" namespace of its own, so nothing is added to the machine's own
 * namespace and no lab packet can leave the lab.
 *
 * Nothing may be left behind: names carry a per-run prefix (FAMILY<pid>, or FAMILY<pid>x<n> when a
 * process makes several labs); every process the lab starts dies with the process that made it
 * (PR_SET_PDEATHSIG through setpriv, even on SIGKILL); destroy() (also on a failed build, and from
 * a process 'exit' handler) kills them and deletes every namespace and file; and the first lab of
 * a family in a process deletes what runs of that family left behind when killed (kill -9 runs no
 * handler at all).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { must, PACKAGE_ROOT, pidAlive, run, withTimeout, type ExecResult, type Place } from './exec.js';
import { Capture, type CaptureOptions } from './wire.js';

/** Long-lived helpers get SIGKILL when the lab process dies, even by SIGKILL. */
const DIE_WITH_LAB = ['--pdeathsig', 'SIGKILL'];

/** What a kind of lab is called: its namespaces and its temporary directories. */
export interface LabFamily {
  /** Namespaces are <ns><pid>...: vrlab for tests and benchmarks, vrdemo for `vrrpd lab`. */
  ns: string;
  /** Temporary directories are <dir><pid>-XXXXXX in the system's temp directory. */
  dir: string;
}

export const TEST_FAMILY: LabFamily = { ns: 'vrlab', dir: 'vrrpd-lab-' };

export interface LabHostSpec {
  name: string;
  /** CIDR addresses for ens32, e.g. ['10.0.0.51/24']. */
  addresses: string[];
}

export interface BridgeLabOptions {
  hosts: LabHostSpec[];
  family?: LabFamily;
  /** One lab per process (names FAMILY<pid>...) instead of FAMILY<pid>x<n>... */
  single?: boolean;
}

export interface LabHost {
  name: string;
  ns: string;
  /** Always 'ens32' inside the namespace. */
  ifname: string;
  /** The other end of the veth, on the switch: taking it down is pulling the host's cable. */
  switchPort: string;
  addresses: string[];
  mac: string;
}

/**
 * Delete the namespaces and temporary directories of earlier runs of a family whose process is
 * gone; returns the namespaces deleted.
 */
export function removeLeftovers(family: LabFamily): string[] {
  const owner = (pattern: RegExp, name: string): number | undefined => {
    const match = pattern.exec(name);
    const pid = match === null ? undefined : Number(match[1]);
    return pid === undefined || pid === process.pid || pidAlive(pid) ? undefined : pid;
  };
  const removed: string[] = [];
  let listing = '';
  try {
    listing = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  } catch {
    // no namespaces at all
  }
  const nsPattern = new RegExp(`^${family.ns}(\\d+)(?!\\d)`);
  for (const line of listing.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    if (owner(nsPattern, name) === undefined) continue;
    try {
      execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
      removed.push(name);
    } catch {
      // someone else removed it
    }
  }
  const dirPattern = new RegExp(`^${family.dir}(\\d+)-`);
  for (const name of readdirSync(tmpdir())) {
    if (owner(dirPattern, name) !== undefined) rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
  return removed;
}

const liveLabs = new Set<BridgeLab>();
const cleanedFamilies = new Set<string>();
let labCounter = 0;
let exitHandlerInstalled = false;

export class BridgeLab {
  readonly hosts = new Map<string, LabHost>();
  readonly switchNs: string;
  /** This lab's files; deleted with the lab. */
  readonly dir: string;
  private readonly namespaces: string[] = [];
  private readonly children = new Set<ChildProcess>();
  private destroyed = false;

  protected constructor(
    readonly prefix: string,
    family: LabFamily,
  ) {
    this.switchNs = `${prefix}sw`;
    this.dir = mkdtempSync(join(tmpdir(), `${family.dir}${process.pid}-`));
  }

  /** Build the lab; on any failure everything already made is deleted before the error is thrown. */
  static async create(options: BridgeLabOptions): Promise<BridgeLab> {
    const family = options.family ?? TEST_FAMILY;
    return BridgeLab.build(new BridgeLab(BridgeLab.prefixFor(family, options.single), family), family, options.hosts);
  }

  protected static prefixFor(family: LabFamily, single = false): string {
    return single ? `${family.ns}${process.pid}` : `${family.ns}${process.pid}x${++labCounter}`;
  }

  protected static async build<T extends BridgeLab>(lab: T, family: LabFamily, hosts: readonly LabHostSpec[]): Promise<T> {
    if (!cleanedFamilies.has(family.ns)) {
      cleanedFamilies.add(family.ns);
      removeLeftovers(family);
    }
    if (!exitHandlerInstalled) {
      exitHandlerInstalled = true;
      process.on('exit', () => {
        for (const live of liveLabs) live.destroySync();
      });
    }
    liveLabs.add(lab);
    try {
      await lab.addHosts(hosts);
    } catch (error) {
      await lab.destroy();
      throw error;
    }
    return lab;
  }

  /** Names of every namespace of the lab, the switch first. */
  get namespaceNames(): readonly string[] {
    return this.namespaces;
  }

  private async addNamespace(ns: string): Promise<void> {
    await must('ip', ['netns', 'add', ns]);
    this.namespaces.push(ns);
    await must('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    // No IPv6 chatter (router solicitations, MLD, DAD) in captures.
    await must('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  }

  private async addHosts(hosts: readonly LabHostSpec[]): Promise<void> {
    const sw = this.switchNs;
    await this.addNamespace(sw);
    await must('ip', ['-n', sw, 'link', 'add', 'br0', 'type', 'bridge', 'mcast_snooping', '0', 'stp_state', '0']);
    await must('ip', ['-n', sw, 'link', 'set', 'br0', 'up']);
    let index = 0;
    for (const spec of hosts) {
      index++;
      const ns = `${this.prefix}${spec.name}`;
      await this.addNamespace(ns);
      const port = `p${index}`;
      const temp = `e${index}`;
      await must('ip', ['-n', sw, 'link', 'add', port, 'type', 'veth', 'peer', 'name', temp]);
      await must('ip', ['-n', sw, 'link', 'set', temp, 'netns', ns]);
      await must('ip', ['-n', ns, 'link', 'set', temp, 'name', 'ens32']);
      // A host given IPv6 addresses gets IPv6 back on its link (addNamespace turned it off), without
      // duplicate address detection, so that the link-local address (the source of IPv6 adverts)
      // and its own addresses can be used at once, not after DAD's ~1 s, and without router
      // solicitations in the captures.
      if (spec.addresses.some((a) => a.includes(':'))) {
        const conf = 'net.ipv6.conf.ens32';
        await must('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', `${conf}.disable_ipv6=0`, `${conf}.accept_dad=0`, `${conf}.router_solicitations=0`]);
      }
      for (const address of spec.addresses) await must('ip', ['-n', ns, 'addr', 'add', address, 'dev', 'ens32', ...(address.includes(':') ? ['nodad'] : [])]);
      await must('ip', ['-n', sw, 'link', 'set', port, 'master', 'br0', 'up']);
      await must('ip', ['-n', ns, 'link', 'set', 'ens32', 'up']);
      const line = await must('ip', ['-n', ns, '-o', 'link', 'show', 'ens32']);
      const mac = /link\/ether (\S+)/.exec(line)?.[1];
      if (mac === undefined) throw new Error(`no MAC in: ${line}`);
      this.hosts.set(spec.name, { name: spec.name, ns, ifname: 'ens32', switchPort: port, addresses: spec.addresses, mac });
    }
  }

  host(name: string): LabHost {
    const host = this.hosts.get(name);
    if (host === undefined) throw new Error(`no lab host ${name}`);
    return host;
  }

  nsOf(nsOrHost: string): string {
    return this.hosts.get(nsOrHost)?.ns ?? nsOrHost;
  }

  /** Run a command inside a host's namespace (name of a host or a full namespace name). */
  exec(nsOrHost: string, cmd: string, args: readonly string[] = [], timeoutMs?: number): Promise<ExecResult> {
    return run('ip', ['netns', 'exec', this.nsOf(nsOrHost), cmd, ...args], timeoutMs);
  }

  /**
   * Start a long-running command in a namespace. It dies with this process (even by SIGKILL) and
   * is killed by destroy(). `ip netns exec` and setpriv exec in place, so the child's pid is the
   * command's own. Detached into its own process group, so that a Ctrl-C at the terminal reaches
   * only the lab's process, which then stops everything in order.
   */
  spawn(nsOrHost: string, cmd: string, args: readonly string[] = []): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.nsOf(nsOrHost), 'setpriv', ...DIE_WITH_LAB, cmd, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      cwd: PACKAGE_ROOT,
      detached: true,
    });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    // A helper that cannot start (ENOENT) must not crash the lab with an unhandled 'error'.
    child.on('error', () => undefined);
    return child;
  }

  /** A host as a place to run daemons: its network namespace, and a directory of its own. */
  place(host: string): Place {
    const dir = join(this.dir, host);
    mkdirSync(dir, { recursive: true });
    return {
      name: host,
      dir,
      spawn: async (cmd, args) => {
        const child = this.spawn(host, cmd, args);
        return { child, pid: child.pid! };
      },
      exec: (cmd, args, timeoutMs) => this.exec(host, cmd, args, timeoutMs),
    };
  }

  /** The addresses (CIDR) of one family on an interface in a namespace: IPv4 unless asked. */
  async addrs(nsOrHost: string, ifname = 'ens32', family: 4 | 6 = 4): Promise<string[]> {
    const out = await must('ip', ['-n', this.nsOf(nsOrHost), `-${family}`, '-o', 'addr', 'show', 'dev', ifname]);
    return [...out.matchAll(family === 4 ? /\binet (\S+)/g : /\binet6 (\S+)/g)].map((m) => m[1]!);
  }

  /** Take a host's link down: 'admin' = ip link set ens32 down; 'carrier' = its switch port down (the cable). */
  async linkDown(host: string, how: 'admin' | 'carrier' = 'admin'): Promise<void> {
    await this.setLink(host, how, 'down');
  }

  async linkUp(host: string, how: 'admin' | 'carrier' = 'admin'): Promise<void> {
    await this.setLink(host, how, 'up');
  }

  private async setLink(host: string, how: 'admin' | 'carrier', state: 'up' | 'down'): Promise<void> {
    const h = this.host(host);
    if (how === 'admin') await must('ip', ['-n', h.ns, 'link', 'set', h.ifname, state]);
    else await must('ip', ['-n', this.switchNs, 'link', 'set', h.switchPort, state]);
  }

  /** Cut a host off the bridge while its own link stays up (no carrier loss): a partition. */
  async partition(host: string): Promise<void> {
    await must('ip', ['-n', this.switchNs, 'link', 'set', this.host(host).switchPort, 'nomaster']);
  }

  async heal(host: string): Promise<void> {
    await must('ip', ['-n', this.switchNs, 'link', 'set', this.host(host).switchPort, 'master', 'br0']);
  }

  /** The neighbour entry for an address in a host's namespace, if any. */
  async neigh(host: string, address: string): Promise<{ lladdr: string | undefined; state: string } | undefined> {
    const out = await must('ip', ['-n', this.nsOf(host), address.includes(':') ? '-6' : '-4', 'neigh', 'show', address, 'dev', 'ens32']);
    const line = out.trim();
    if (line === '') return undefined;
    const lladdr = /lladdr (\S+)/.exec(line)?.[1];
    const state = line.split(/\s+/).at(-1) ?? '';
    return { lladdr, state };
  }

  /** Start tcpdump on a host's ens32 (or `ifname`); resolves once it is listening. */
  tcpdump(nsOrHost: string, filter: string, ifname = 'ens32', options: Omit<CaptureOptions, 'iface' | 'filter'> = {}): Promise<Capture> {
    return Capture.start(this, nsOrHost, { ...options, iface: ifname, filter });
  }

  /** Kill every process of the lab and delete every namespace, after the processes have exited. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    const children = [...this.children];
    this.killChildren();
    await withTimeout(Promise.all(children.map((child) => new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.once('exit', resolve))))), 3_000, undefined);
    this.destroySync();
  }

  /** Synchronous, so that it can run in a process 'exit' handler. Safe to call twice. */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    liveLabs.delete(this);
    this.killChildren();
    // Hosts first: deleting a namespace deletes its veth end, and with it the switch port.
    for (const ns of [...this.namespaces].reverse()) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private killChildren(): void {
    for (const child of this.children) {
      try {
        // The whole group: nsenter leaves the child it forks in its group.
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }
  }
}
