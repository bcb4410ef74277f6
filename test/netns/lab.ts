/**
 * The real-kernel tests' lab: src/lab/netns.ts's BridgeLab (hosts on one bridge, each a network
 * namespace with ens32; per-run names; everything deleted on destroy, at exit and after a killed
 * run), plus what only tests need: whether the machine can run them at all, and the agent
 * (test/netns/agent.ts) that drives src/io inside a namespace.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { PACKAGE_ROOT } from '../../src/lab/exec.js';
import { BridgeLab, type LabHostSpec, TEST_FAMILY } from '../../src/lab/netns.js';
import { missingTools, type Tool } from '../../src/lab/prerequisites.js';

export type { ExecResult } from '../../src/lab/exec.js';
export type { LabHost, LabHostSpec } from '../../src/lab/netns.js';
export { parsePcap, type Capture, type CapturedFrame } from '../../src/lab/wire.js';

const HERE = dirname(fileURLToPath(import.meta.url));

/** Every tool some real-kernel test runs, with the Debian package that has it. */
const TEST_TOOLS: Tool[] = (
  [
    ['ip', ['-V'], 'iproute2'],
    ['tcpdump', ['--version'], 'tcpdump'],
    ['keepalived', ['--version'], 'keepalived'],
    ['killall', ['-V'], 'psmisc'],
    ['unshare', ['--version'], 'util-linux'],
    ['nsenter', ['--version'], 'util-linux'],
    ['setpriv', ['--version'], 'util-linux'],
    ['openssl', ['version'], 'openssl'],
  ] as const
).map(([command, versionArgs, debianPackage]) => ({ command, versionArgs: [...versionArgs], debianPackage, why: 'real-kernel tests' }));

/** Why real-kernel tests cannot run here, or undefined when they can. */
export const labUnavailableReason: string | undefined = (() => {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not running as root (network namespaces need CAP_SYS_ADMIN)';
  const missing = missingTools(TEST_TOOLS);
  if (missing.length > 0) {
    const packages = [...new Set(missing.map((tool) => tool.debianPackage))];
    return `missing ${missing.map((tool) => tool.command).join(', ')} (apt-get install ${packages.join(' ')})`;
  }
  return undefined;
})();

if (labUnavailableReason !== undefined) {
  const line = '!'.repeat(100);
  console.warn(`\n${line}\n!!! SKIPPING REAL-KERNEL NETNS TESTS: ${labUnavailableReason}\n!!! Run them as root with iproute2 installed.\n${line}\n`);
}

/** The seed's masters m1..mN on the lab's bridge (10.0.0.51, .52, ...), then any other hosts. */
export function seedMasters(count: 1 | 2 | 3 = 3, ...others: LabHostSpec[]): LabHostSpec[] {
  return [...Array.from({ length: count }, (_, i) => ({ name: `m${i + 1}`, addresses: [`10.0.0.${51 + i}/24`] })), ...others];
}

export interface LabOptions {
  hosts: LabHostSpec[];
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

/** The lab of the real-kernel tests (names vrlab<pid>x<n>...). */
export class Lab extends BridgeLab {
  /** Build the lab; on any failure everything already made is deleted before the error is thrown. */
  static override async create(options: LabOptions): Promise<Lab> {
    if (labUnavailableReason !== undefined) throw new Error(`lab unavailable: ${labUnavailableReason}`);
    return BridgeLab.build(new Lab(BridgeLab.prefixFor(TEST_FAMILY), TEST_FAMILY), TEST_FAMILY, options.hosts);
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
}

/** Can `uid` read the agent and its imports here? (A checkout under a 0700 home is not.) */
function canReadRepoAs(uid: number): boolean {
  try {
    execFileSync('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', 'test', '-r', join(PACKAGE_ROOT, 'node_modules', 'typescript', 'package.json')], { stdio: 'ignore' });
    execFileSync('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', 'test', '-r', join(HERE, 'agent.ts')], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
