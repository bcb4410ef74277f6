/**
 * A lab of network namespaces for real-kernel tests: N hosts (plus an optional client) on one
 * bridge, each with a veth named ens32 inside, like the Kubernetes masters the daemon runs on.
 * The bridge lives in its own "switch" namespace, so nothing is added to the host's namespace and
 * no packet can leave the lab. Names carry a per-run prefix (vrlab<pid>x<n>); destroy() deletes
 * everything and also runs from a process exit handler; labs left behind by a killed run are
 * removed when the next run starts.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = resolve(HERE, '..', '..');
const NAME_PATTERN = /^vrlab(\d+)x\d+/;

/** Why real-kernel tests cannot run here, or undefined when they can. */
export const labUnavailableReason: string | undefined = (() => {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not running as root (network namespaces need CAP_SYS_ADMIN)';
  // Every tool some real-kernel test runs, with the Debian package that has it.
  const tools: Array<[string, string[], string]> = [
    ['ip', ['-V'], 'iproute2'],
    ['tcpdump', ['--version'], 'tcpdump'],
    ['keepalived', ['--version'], 'keepalived'],
    ['killall', ['-V'], 'psmisc'],
    ['nsenter', ['--version'], 'util-linux'],
    ['setpriv', ['--version'], 'util-linux'],
    ['openssl', ['version'], 'openssl'],
  ];
  const missing = tools.filter(([cmd, args]) => {
    try {
      execFileSync(cmd, args, { stdio: 'ignore' });
      return false;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'ENOENT';
    }
  });
  if (missing.length > 0) {
    const packages = [...new Set(missing.map(([, , pkg]) => pkg))];
    return `missing ${missing.map(([cmd]) => cmd).join(', ')} (apt-get install ${packages.join(' ')})`;
  }
  return undefined;
})();

if (labUnavailableReason !== undefined) {
  const line = '!'.repeat(100);
  console.warn(`\n${line}\n!!! SKIPPING REAL-KERNEL NETNS TESTS: ${labUnavailableReason}\n!!! Run them as root with iproute2 installed.\n${line}\n`);
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: readonly string[], timeoutMs = 15_000): Promise<ExecResult> {
  return new Promise((resolvePromise) => {
    execFile(cmd, args, { timeout: timeoutMs, encoding: 'utf8' }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof (error as { code?: unknown }).code === 'number' ? Number((error as { code: number }).code) : 127;
      resolvePromise({ code, stdout, stderr });
    });
  });
}

async function must(cmd: string, args: readonly string[]): Promise<string> {
  const result = await run(cmd, args);
  if (result.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${result.code}): ${result.stderr.trim()}`);
  return result.stdout;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Delete namespaces of earlier runs whose process is gone (kill -9 skips every exit handler). */
function removeAbandonedNamespaces(): void {
  let listing = '';
  try {
    listing = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  } catch {
    return;
  }
  for (const line of listing.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const match = NAME_PATTERN.exec(name);
    if (match && Number(match[1]) !== process.pid && !pidAlive(Number(match[1]))) {
      try {
        execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
      } catch {
        // someone else removed it
      }
    }
  }
}

export interface LabHostSpec {
  name: string;
  /** CIDR addresses for ens32, e.g. ['10.0.0.51/24']. */
  addresses: string[];
}

export interface LabOptions {
  hosts: LabHostSpec[];
}

export interface LabHost {
  name: string;
  ns: string;
  /** Always 'ens32' inside the namespace. */
  ifname: string;
  /** The other end of the veth, on the switch. */
  switchPort: string;
  addresses: string[];
  mac: string;
}

export interface CapturedFrame {
  timeMs: number;
  bytes: Uint8Array;
}

export interface Capture {
  /** Stop tcpdump and return every captured frame (Ethernet, whole). */
  stop(): Promise<CapturedFrame[]>;
}

/** Parse a classic little-endian microsecond pcap file. */
export function parsePcap(data: Uint8Array): CapturedFrame[] {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.length < 24 || view.getUint32(0, true) !== 0xa1b2c3d4) throw new Error('not a little-endian pcap');
  const frames: CapturedFrame[] = [];
  let offset = 24;
  while (offset + 16 <= data.length) {
    const seconds = view.getUint32(offset, true);
    const micros = view.getUint32(offset + 4, true);
    const length = view.getUint32(offset + 8, true);
    offset += 16;
    if (offset + length > data.length) break;
    frames.push({ timeMs: seconds * 1000 + micros / 1000, bytes: data.slice(offset, offset + length) });
    offset += length;
  }
  return frames;
}

export interface AgentEvent {
  event: string;
  [key: string]: unknown;
}

/** A running test/netns/agent.ts inside a namespace (see that file for the protocol). */
export class Agent {
  readonly events: AgentEvent[] = [];
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private readonly waiters = new Set<() => void>();
  private stderr = '';

  constructor(readonly ns: string, private readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let message: AgentEvent & { id?: number; ok?: boolean; result?: unknown; error?: string };
      try {
        message = JSON.parse(line) as typeof message;
      } catch {
        this.stderr += `${line}\n`;
        return;
      }
      if (typeof message.id === 'number') {
        const entry = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (message.ok) entry?.resolve(message.result);
        else entry?.reject(new Error(`agent in ${ns}: ${message.error}`));
      } else {
        this.events.push(message);
        for (const waiter of this.waiters) waiter();
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    child.on('exit', () => {
      for (const entry of this.pending.values()) entry.reject(new Error(`agent in ${ns} exited: ${this.stderr}`));
      this.pending.clear();
    });
  }

  call<T = unknown>(op: string, args: Record<string, unknown> = {}, timeoutMs = 10_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolvePromise, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`agent in ${this.ns}: ${op} timed out; stderr: ${this.stderr}`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolvePromise(value as T);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.child.stdin!.write(`${JSON.stringify({ id, op, ...args })}\n`);
    });
  }

  /** Resolve with the first event (from index `from` on) that matches, or reject after timeoutMs. */
  waitFor(match: (event: AgentEvent) => boolean, timeoutMs = 5_000, from = 0): Promise<AgentEvent> {
    return new Promise((resolvePromise, reject) => {
      const check = (): boolean => {
        const found = this.events.slice(from).find(match);
        if (found === undefined) return false;
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolvePromise(found);
        return true;
      };
      const waiter = (): void => void check();
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`agent in ${this.ns}: no matching event in ${timeoutMs} ms; events: ${JSON.stringify(this.events.slice(from)).slice(0, 2000)}; stderr: ${this.stderr}`));
      }, timeoutMs);
      this.waiters.add(waiter);
      check();
    });
  }

  get stderrText(): string {
    return this.stderr;
  }
}

const liveLabs = new Set<Lab>();
let labCounter = 0;
let exitHandlerInstalled = false;

export class Lab {
  readonly hosts = new Map<string, LabHost>();
  readonly switchNs: string;
  private readonly namespaces: string[] = [];
  private readonly children = new Set<ChildProcess>();
  private readonly tempDir = mkdtempSync(join(tmpdir(), 'vrrpd-lab-'));
  private destroyed = false;

  private constructor(readonly prefix: string) {
    this.switchNs = `${prefix}sw`;
  }

  /** Build the lab; on any failure everything already made is deleted before the error is thrown. */
  static async create(options: LabOptions): Promise<Lab> {
    if (labUnavailableReason !== undefined) throw new Error(`lab unavailable: ${labUnavailableReason}`);
    if (!exitHandlerInstalled) {
      exitHandlerInstalled = true;
      removeAbandonedNamespaces();
      process.on('exit', () => {
        for (const lab of liveLabs) lab.destroySync();
      });
    }
    const lab = new Lab(`vrlab${process.pid}x${++labCounter}`);
    liveLabs.add(lab);
    try {
      await lab.build(options);
    } catch (error) {
      await lab.destroy();
      throw error;
    }
    return lab;
  }

  private async addNamespace(ns: string): Promise<void> {
    await must('ip', ['netns', 'add', ns]);
    this.namespaces.push(ns);
    await must('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    // No IPv6 chatter (router solicitations, MLD, DAD) in captures.
    await must('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  }

  private async build(options: LabOptions): Promise<void> {
    const sw = this.switchNs;
    await this.addNamespace(sw);
    await must('ip', ['-n', sw, 'link', 'add', 'br0', 'type', 'bridge', 'mcast_snooping', '0', 'stp_state', '0']);
    await must('ip', ['-n', sw, 'link', 'set', 'br0', 'up']);
    let index = 0;
    for (const spec of options.hosts) {
      index++;
      const ns = `${this.prefix}${spec.name}`;
      await this.addNamespace(ns);
      const port = `p${index}`;
      const temp = `e${index}`;
      await must('ip', ['-n', sw, 'link', 'add', port, 'type', 'veth', 'peer', 'name', temp]);
      await must('ip', ['-n', sw, 'link', 'set', temp, 'netns', ns]);
      await must('ip', ['-n', ns, 'link', 'set', temp, 'name', 'ens32']);
      for (const address of spec.addresses) await must('ip', ['-n', ns, 'addr', 'add', address, 'dev', 'ens32']);
      await must('ip', ['-n', sw, 'link', 'set', port, 'master', 'br0', 'up']);
      await must('ip', ['-n', ns, 'link', 'set', 'ens32', 'up']);
      const mac = readMacFromIp(await must('ip', ['-n', ns, '-o', 'link', 'show', 'ens32']));
      this.hosts.set(spec.name, { name: spec.name, ns, ifname: 'ens32', switchPort: port, addresses: spec.addresses, mac });
    }
  }

  host(name: string): LabHost {
    const host = this.hosts.get(name);
    if (host === undefined) throw new Error(`no lab host ${name}`);
    return host;
  }

  /** Run a command inside a host's namespace (name of a host or a full namespace name). */
  exec(nsOrHost: string, cmd: string, args: readonly string[] = [], timeoutMs?: number): Promise<ExecResult> {
    return run('ip', ['netns', 'exec', this.nsOf(nsOrHost), cmd, ...args], timeoutMs);
  }

  /** Start a long-running command in a namespace; it is killed by destroy(). */
  spawn(nsOrHost: string, cmd: string, args: readonly string[] = []): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.nsOf(nsOrHost), cmd, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      cwd: REPO_ROOT,
    });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  /**
   * Start test/netns/agent.ts in a namespace and wait until it is ready. With `user`, it runs as that
   * uid/gid (via setpriv) holding only the given ambient capabilities, as under systemd's
   * User= + AmbientCapabilities=.
   */
  async agent(nsOrHost: string, options: { user?: { uid: number; ambientCaps: string[] } } = {}): Promise<Agent> {
    const node = [process.execPath, '--import', join(HERE, '..', 'register.mjs'), join(HERE, 'agent.ts')];
    let argv = node;
    if (options.user !== undefined) {
      const { uid, ambientCaps } = options.user;
      const caps = ambientCaps.map((c) => `+${c}`).join(',');
      if (uid !== 0 && !canReadRepoAs(uid)) {
        // The checkout is not readable by that user (a CI clone under /root, say): stay uid 0 but
        // make root an ordinary user for capabilities (SECBIT_NOROOT) with the bounding set cut to
        // `caps`, so the process and the `ip` it execs hold exactly the ambient capabilities given.
        argv = ['setpriv', '--securebits=+noroot,+noroot_locked', `--bounding-set=-all${caps === '' ? '' : `,${caps}`}`];
      } else {
        argv = ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'];
      }
      argv.push(`--inh-caps=-all${caps === '' ? '' : `,${caps}`}`);
      if (caps !== '') argv.push(`--ambient-caps=${caps}`);
      argv.push(...node);
    }
    const child = this.spawn(nsOrHost, argv[0]!, argv.slice(1));
    const agent = new Agent(this.nsOf(nsOrHost), child);
    await agent.waitFor((event) => event.event === 'ready', 20_000);
    return agent;
  }

  /** IPv4 addresses (CIDR) on an interface in a namespace. */
  async addrs(nsOrHost: string, ifname = 'ens32'): Promise<string[]> {
    const out = await must('ip', ['-n', this.nsOf(nsOrHost), '-4', '-o', 'addr', 'show', 'dev', ifname]);
    return [...out.matchAll(/\binet (\S+)/g)].map((m) => m[1]!);
  }

  /** Take a host's link down: 'admin' = ip link set ens32 down; 'carrier' = its switch port down. */
  async linkDown(host: string, how: 'admin' | 'carrier' = 'admin'): Promise<void> {
    const h = this.host(host);
    if (how === 'admin') await must('ip', ['-n', h.ns, 'link', 'set', h.ifname, 'down']);
    else await must('ip', ['-n', this.switchNs, 'link', 'set', h.switchPort, 'down']);
  }

  async linkUp(host: string, how: 'admin' | 'carrier' = 'admin'): Promise<void> {
    const h = this.host(host);
    if (how === 'admin') await must('ip', ['-n', h.ns, 'link', 'set', h.ifname, 'up']);
    else await must('ip', ['-n', this.switchNs, 'link', 'set', h.switchPort, 'up']);
  }

  /** The neighbour entry for an address in a host's namespace, if any. */
  async neigh(host: string, address: string): Promise<{ lladdr: string | undefined; state: string } | undefined> {
    const out = await must('ip', ['-n', this.nsOf(host), '-4', 'neigh', 'show', address, 'dev', 'ens32']);
    const line = out.trim();
    if (line === '') return undefined;
    const lladdr = /lladdr (\S+)/.exec(line)?.[1];
    const state = line.split(/\s+/).at(-1) ?? '';
    return { lladdr, state };
  }

  /** Start tcpdump in a namespace; resolves once it is listening. */
  async tcpdump(nsOrHost: string, filter: string, ifname = 'ens32'): Promise<Capture> {
    const file = join(this.tempDir, `cap-${Date.now()}-${Math.random().toString(16).slice(2)}.pcap`);
    // -Z root: tcpdump otherwise drops to its own user, which cannot write into our 0700 temp dir.
    // --immediate-mode: without it libpcap's ring hands packets over up to a second late, and a
    // capture stopped right after the traffic would miss them.
    const child = this.spawn(nsOrHost, 'tcpdump', ['-i', ifname, '-nn', '--immediate-mode', '-U', '-s', '0', '-Z', 'root', '-w', file, ...filter.split(/\s+/).filter(Boolean)]);
    let stderr = '';
    await new Promise<void>((resolvePromise, reject) => {
      const timer = setTimeout(() => reject(new Error(`tcpdump did not start: ${stderr}`)), 10_000);
      child.stderr!.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes('listening on')) {
          clearTimeout(timer);
          resolvePromise();
        }
      });
      child.on('exit', () => {
        clearTimeout(timer);
        reject(new Error(`tcpdump exited: ${stderr}`));
      });
    });
    return {
      stop: async () => {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise((r) => child.once('exit', r));
          child.kill('SIGINT');
          await exited;
        }
        return existsSync(file) ? parsePcap(readFileSync(file)) : [];
      },
    };
  }

  nsOf(nsOrHost: string): string {
    return this.hosts.get(nsOrHost)?.ns ?? nsOrHost;
  }

  /** Kill every child and delete every namespace. Safe to call twice. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    for (const child of this.children) child.kill('SIGKILL');
    await Promise.all(
      [...this.children].map((child) => new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r)))),
    );
    this.destroySync();
  }

  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    liveLabs.delete(this);
    for (const child of this.children) child.kill('SIGKILL');
    // Hosts first: deleting a namespace deletes its veth end, and with it the switch port.
    for (const ns of [...this.namespaces].reverse()) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
    rmSync(this.tempDir, { recursive: true, force: true });
  }
}

/** Can `uid` read the agent and its imports here? (A checkout under a 0700 home is not.) */
function canReadRepoAs(uid: number): boolean {
  try {
    execFileSync('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', 'test', '-r', join(REPO_ROOT, 'node_modules', 'typescript', 'package.json')], { stdio: 'ignore' });
    execFileSync('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', 'test', '-r', join(HERE, 'agent.ts')], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function readMacFromIp(line: string): string {
  const mac = /link\/ether (\S+)/.exec(line)?.[1];
  if (mac === undefined) throw new Error(`no MAC in: ${line}`);
  return mac;
}
