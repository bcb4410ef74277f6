/**
 * A throwaway systemd to run the real unit under: this machine's own root file system, seen through
 * an overlay whose writable layer is a tmpfs directory, booted by systemd-nspawn with a private
 * network (only lo, plus whatever the test creates inside) and only basic.target, so nothing but
 * journald starts. The host's /etc, network and processes are never touched; destroy() kills the
 * container's PID 1 (which takes every process of its PID namespace) and removes the overlay.
 *
 * Needs systemd-nspawn (Debian package systemd-container) and overlayfs; runs as root.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function execHost(argv: string[], input?: string, timeoutMs = 30_000): Promise<ExecResult> {
  return new Promise((resolve) => {
    // detached: its own process group, so that a `kill 0` inside (e.g. a MainPID of 0 when a unit is
    // not running) cannot signal the test runner's group.
    const child = spawn(argv[0]!, argv.slice(1), { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ code: null, stdout, stderr: stderr + String(error) });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    if (input !== undefined) {
      // A command that exits without reading its input must not crash the test with EPIPE.
      child.stdin!.on('error', () => undefined);
      child.stdin!.end(input);
    }
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Container {
  private constructor(
    private readonly base: string,
    private readonly nspawn: ChildProcess,
    /** Host PID of the container's systemd. */
    readonly leader: number,
    private readonly log: () => string,
  ) {}

  /**
   * Boot; `binds` are host:container paths bind-mounted read-only. The container gets a new network
   * namespace with only lo; move links into it by `leader` (`ip link set X netns PID`). Joining an
   * existing namespace instead (--network-namespace-path) leaves /sys showing the wrong one, and
   * vrrpd finds interfaces through /sys/class/net.
   */
  static async boot(name: string, binds: Array<[string, string]>): Promise<Container> {
    const base = join('/dev/shm', `vrrpd-ct-${name}-${process.pid}`);
    const root = join(base, 'root');
    for (const dir of ['upper', 'work', 'root']) mkdirSync(join(base, dir), { recursive: true });
    const mounted = await execHost(['mount', '-t', 'overlay', 'overlay', '-o', `lowerdir=/,upperdir=${base}/upper,workdir=${base}/work`, root]);
    if (mounted.code !== 0) {
      rmSync(base, { recursive: true, force: true });
      throw new Error(`overlay mount failed: ${mounted.stderr}`);
    }
    const args = [
      '-D', root, '-M', name, '--private-network', '--register=no', '--keep-unit', '--link-journal=no', '-q',
      ...binds.map(([host, inside]) => `--bind-ro=${host}:${inside}`),
      '-b', '--', '--unit=basic.target',
    ];
    const nspawn = spawn('systemd-nspawn', args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    nspawn.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
    nspawn.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
    const cleanupBase = async () => {
      await execHost(['umount', root]);
      rmSync(base, { recursive: true, force: true });
    };
    try {
      const leader = await waitForLeader(nspawn, () => output);
      const container = new Container(base, nspawn, leader, () => output);
      for (const deadline = Date.now() + 30_000; ; ) {
        const state = (await container.exec(['systemctl', 'is-system-running'])).stdout.trim();
        if (state === 'running' || state === 'degraded') break;
        if (Date.now() > deadline) throw new Error(`container did not finish booting (state '${state}'):\n${output}`);
        await sleep(100);
      }
      return container;
    } catch (error) {
      nspawn.kill('SIGKILL');
      await cleanupBase();
      throw error;
    }
  }

  /** Run a command inside (all of the container's namespaces), as root. */
  exec(argv: string[], input?: string): Promise<ExecResult> {
    return execHost(['nsenter', '-t', String(this.leader), '-m', '-u', '-i', '-n', '-p', '--', ...argv], input);
  }

  /** Start a long-running process inside; it dies with the container. */
  spawn(argv: string[]): ChildProcess {
    return spawn('nsenter', ['-t', String(this.leader), '-m', '-u', '-i', '-n', '-p', '--', ...argv], { stdio: 'ignore', detached: true });
  }

  bootLog(): string {
    return this.log();
  }

  async destroy(): Promise<void> {
    try {
      process.kill(this.leader, 'SIGKILL');
    } catch {
      // already gone
    }
    if (this.nspawn.exitCode === null && this.nspawn.signalCode === null) {
      await Promise.race([new Promise((r) => this.nspawn.once('exit', r)), sleep(5_000)]);
      this.nspawn.kill('SIGKILL');
    }
    await execHost(['umount', join(this.base, 'root')]);
    rmSync(this.base, { recursive: true, force: true });
  }
}

/** The container's PID 1 is nspawn's child whose command is systemd. */
async function waitForLeader(nspawn: ChildProcess, output: () => string): Promise<number> {
  for (const deadline = Date.now() + 15_000; ; ) {
    if (nspawn.exitCode !== null || nspawn.signalCode !== null) throw new Error(`systemd-nspawn exited (${nspawn.exitCode ?? nspawn.signalCode}):\n${output()}`);
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const status = readFileSync(`/proc/${entry}/status`, 'utf8');
        if (new RegExp(`^PPid:\\s+${nspawn.pid}$`, 'm').test(status) && /^Name:\s+systemd$/m.test(status)) return Number(entry);
      } catch {
        // exited meanwhile
      }
    }
    if (Date.now() > deadline) throw new Error(`no systemd under systemd-nspawn after 15 s:\n${output()}`);
    await sleep(50);
  }
}
