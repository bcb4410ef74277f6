/**
 * The optional PID-namespace layer: a lab host that is also a PID namespace, as a Kubernetes
 * master is its own machine. The seed's `killall -0 kube-apiserver` check then sees only its own
 * node's kube-apiserver.
 *
 * PID 1 of the node is a tiny bash init (it reaps orphans, so no zombie fools `killall -0`),
 * started with `unshare --pid --fork --mount-proc --kill-child` in the host's network namespace:
 * when it dies, the kernel kills everything in its PID namespace, and it dies with the lab (the lab
 * starts every process with PR_SET_PDEATHSIG). Everything else of the node runs under
 * `nsenter -t INIT -p -m -n`, i.e. in the same network, PID and mount namespaces (the latter holds
 * the node's own /proc). nsenter forks once to enter the PID namespace and passes no signal on, so
 * spawn() returns the host PID of that inner process: signals go there.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { innerPid, PACKAGE_ROOT, type ExecResult, type Place } from './exec.js';
import type { BridgeLab } from './netns.js';

/** PID 1 of a node: ignores the signals a stray broadcast could send, and reaps orphans. */
const INIT_SCRIPT = 'trap "" TERM INT HUP QUIT USR1 USR2; while :; do sleep 1; done';

export class PidNode implements Place {
  private constructor(
    private readonly lab: BridgeLab,
    readonly name: string,
    /** Host PID of the node's init, PID 1 of its PID namespace. */
    readonly initPid: number,
    readonly dir: string,
  ) {}

  /** Give a lab host its own PID namespace; its files go to a directory of its own in the lab's. */
  static async start(lab: BridgeLab, host: string): Promise<PidNode> {
    const init = lab.spawn(host, 'unshare', ['--pid', '--fork', '--mount-proc', '--kill-child', 'bash', '-c', INIT_SCRIPT]);
    const initPid = await innerPid(init, `${host}: init`);
    const dir = join(lab.dir, host);
    mkdirSync(dir, { recursive: true });
    return new PidNode(lab, host, initPid, dir);
  }

  private nsenterArgs(cmd: string, args: readonly string[]): string[] {
    return ['-t', String(this.initPid), '-p', '-m', '-n', `--wd=${PACKAGE_ROOT}`, '--', cmd, ...args];
  }

  /** Start a long-running command inside the node's namespaces; `pid` is its host PID. */
  async spawn(cmd: string, args: readonly string[] = []): Promise<{ child: ChildProcess; pid: number }> {
    const child = this.lab.spawn(this.name, 'nsenter', this.nsenterArgs(cmd, args));
    return { child, pid: await innerPid(child, `${this.name}: ${cmd}`) };
  }

  /** Run a short command inside the node's namespaces (its own /proc: `ps` shows only this node). */
  exec(cmd: string, args: readonly string[] = [], timeoutMs?: number): Promise<ExecResult> {
    return this.lab.exec(this.name, 'nsenter', this.nsenterArgs(cmd, args), timeoutMs);
  }
}
