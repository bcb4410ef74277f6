/**
 * Process plumbing shared by everything in the lab: running a command and reading its result,
 * waiting with a deadline, and a handle on a long-running process that is signalled by its own
 * host PID (for a process started through nsenter, the ChildProcess is nsenter, which passes no
 * signal on).
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/**
 * The package's root, from this module: src/lab/ when run from the sources (tests, benchmarks),
 * dist/lab/ in the package. Helpers the lab starts as processes are always the built ones in
 * dist/ (the tests and benchmarks build first), since node runs them without a TypeScript loader.
 */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const VRRPD_MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
/** A script of the lab, built into dist/lab/. */
export const labScript = (name: 'apiserver' | 'probe'): string => fileURLToPath(new URL(`../../dist/lab/${name}.js`, import.meta.url));

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

/** Poll until `check` returns true; resolve with the time it did. */
export async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string, intervalMs = 20): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await check()) return Date.now();
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** The first of `items` (from index `from` on) that matches, polling every `intervalMs`; `describe` says what was missing. */
export async function waitForItem<T>(items: readonly T[], match: (item: T) => boolean, timeoutMs: number, from: number, describe: () => string, intervalMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = items.slice(from).find(match);
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(describe());
    await sleep(intervalMs);
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

export type ExitStatus = { code: number | null; signal: NodeJS.Signals | null };

export function exitedPromise(child: ChildProcess): Promise<ExitStatus> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** Resolves once the child has exited and its output pipes are closed (all it wrote has been read). */
export function closedPromise(child: ChildProcess): Promise<void> {
  if ((child.exitCode !== null || child.signalCode !== null) && [child.stdout, child.stderr].every((s) => s === null || s.destroyed)) return Promise.resolve();
  return new Promise((resolve) => child.once('close', () => resolve()));
}

/**
 * A long-running process of the lab. `pid` is the process itself: the child's own pid when it was
 * exec'd in place (`ip netns exec` and setpriv exec), or the inner process nsenter forked.
 */
export class ProcessHandle {
  readonly exited: Promise<ExitStatus>;
  protected stderrTail = '';

  constructor(
    readonly child: ChildProcess,
    readonly pid: number = child.pid!,
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

  /** The end of what it wrote on stderr. */
  get errors(): string {
    return this.stderrTail.trim();
  }
}

/** Where a process of the lab runs: a host's network namespace, or a node's PID namespace too. */
export interface Place {
  /** The host's name in the lab, for messages and for `exec` in its network namespace. */
  readonly name: string;
  /** A directory of this place's own files (configs, pid files, sockets). */
  readonly dir: string;
  spawn(cmd: string, args: readonly string[]): Promise<{ child: ChildProcess; pid: number }>;
  exec(cmd: string, args: readonly string[], timeoutMs?: number): Promise<ExecResult>;
}
