/**
 * Observers that trust no daemon's own view: who holds the VIP, from each host's kernel address
 * notifications as the kernel makes them; and what a client sees, from a probe process that asks the
 * VIP who serves it every 10 ms (probe.ts). The wire is the third observer (wire.ts).
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { labScript, sleep, withTimeout } from './exec.js';
import type { BridgeLab } from './netns.js';

export interface HolderEvent<H extends string = string> {
  timeMs: number;
  host: H;
  held: boolean;
}

/** Which hosts hold an address (the VIP), from `ip monitor address` in each host's namespace. */
export class VipWatch<H extends string = string> {
  readonly events: HolderEvent<H>[] = [];
  private readonly held = new Set<H>();
  private readonly listeners = new Set<(event: HolderEvent<H>) => void>();

  constructor(
    private readonly lab: BridgeLab,
    private readonly hosts: readonly H[],
    /** The address with its prefix length, as `ip` prints it: 10.0.0.50/32, fd00::50/64. */
    readonly vip: string,
  ) {}

  private get family(): 4 | 6 {
    return this.vip.includes(':') ? 6 : 4;
  }

  async start(): Promise<void> {
    const word = this.family === 4 ? 'inet' : 'inet6';
    for (const host of this.hosts) {
      const monitor = this.lab.spawn(host, 'ip', [`-${this.family}`, '-o', 'monitor', 'address']);
      createInterface({ input: monitor.stdout! }).on('line', (line) => {
        if (!line.includes(` ${word} ${this.vip} `)) return;
        this.record(host, !line.startsWith('Deleted'));
      });
    }
    // The monitors need a moment to subscribe; then the kernel's current state seeds the set.
    await sleep(150);
    for (const host of this.hosts) if ((await this.lab.addrs(host, 'ens32', this.family)).includes(this.vip)) this.record(host, true);
  }

  /** Each change as it is seen. */
  onChange(listener: (event: HolderEvent<H>) => void): void {
    this.listeners.add(listener);
  }

  private record(host: H, held: boolean): void {
    if (this.held.has(host) === held) return;
    if (held) this.held.add(host);
    else this.held.delete(host);
    const event = { timeMs: Date.now(), host, held };
    this.events.push(event);
    for (const listener of this.listeners) listener(event);
  }

  holders(): H[] {
    return this.hosts.filter((h) => this.held.has(h));
  }

  /** The largest number of hosts that held the VIP at the same time in [fromMs, now]. */
  maxHolders(fromMs: number): number {
    const set = new Set<H>();
    for (const e of this.events) {
      if (e.timeMs > fromMs) break;
      if (e.held) set.add(e.host);
      else set.delete(e.host);
    }
    let max = set.size;
    for (const e of this.events) {
      if (e.timeMs <= fromMs) continue;
      if (e.held) set.add(e.host);
      else set.delete(e.host);
      max = Math.max(max, set.size);
    }
    return max;
  }

  /** How long, in total, two or more hosts held the VIP at once in [fromMs, now]. */
  dualMs(fromMs: number): number {
    const set = new Set<H>();
    let total = 0;
    let dualSince: number | undefined;
    for (const e of this.events) {
      if (e.held) set.add(e.host);
      else set.delete(e.host);
      const at = Math.max(e.timeMs, fromMs);
      if (set.size >= 2 && dualSince === undefined) dualSince = at;
      if (set.size < 2 && dualSince !== undefined) {
        total += at - dualSince;
        dualSince = undefined;
      }
    }
    if (dualSince !== undefined) total += Date.now() - dualSince;
    return total;
  }

  /** The first host that added the VIP after `fromMs`. */
  firstTaker(fromMs: number): H | undefined {
    return this.since(fromMs).find((e) => e.held)?.host;
  }

  /** What moved after `fromMs`, times relative to it, for assertion messages. */
  describe(fromMs: number): string {
    return this.since(fromMs).map((e) => `+${e.timeMs - fromMs}ms ${e.host} ${e.held ? 'added' : 'removed'}`).join('; ') || 'no change';
  }

  /** Events after `fromMs`, e.g. to show what moved during a window. */
  since(fromMs: number): HolderEvent<H>[] {
    return this.events.filter((e) => e.timeMs > fromMs);
  }

  /** Wait until exactly `expected` hold the VIP; return the time of the event that made it so. */
  async waitForHolders(expected: readonly H[], timeoutMs: number, what = `holders ${expected.join(',') || 'none'}`): Promise<number> {
    const want = [...expected].sort().join(',');
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.holders().join(',') === want) return this.events.at(-1)?.timeMs ?? Date.now();
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; holders now [${this.holders().join(',')}]; events ${JSON.stringify(this.events.slice(-10))}`);
      await sleep(10);
    }
  }
}

/** One probe answered: when it was sent and answered (wall clock ms, µs resolution), and by whom. */
export interface ProbeSample {
  sentMs: number;
  replyMs: number;
  who: string;
}

export interface ProbeFailure {
  sentMs: number;
  error: string;
}

/**
 * A reply that starts a run: from another node than the reply before, or from the same one after a
 * gap. timeMs - prevTimeMs is the outage the client saw (whole ms).
 */
export interface ProbeReply {
  node: string;
  timeMs: number;
  prevNode: string | null;
  prevTimeMs: number | null;
}

/** Replies from one node closer together than this are one uninterrupted run. */
const GAP_MS = 50;

export interface ProbeOptions {
  /** Where to ask: the VIP and the stand-in's port. */
  host: string;
  port: number;
  /** What to call a node, from what its stand-in answers (the default: the answer itself). */
  label?: (answer: string) => string;
  /** Called for every reply that starts a run. */
  onReply?: (reply: ProbeReply) => void;
}

/** The client's probe process (probe.ts) in a lab host, and what it reported. */
export class Probe {
  /** Every answered probe. */
  readonly samples: ProbeSample[] = [];
  /** Every probe that got no answer within its timeout. */
  readonly failures: ProbeFailure[] = [];
  /** Every reply that started a run (a move of the VIP, or the same node after a gap). */
  readonly replies: ProbeReply[] = [];
  /** The latest reply: who and when. */
  last: { node: string; timeMs: number } | undefined;
  private readonly waiters = new Set<() => void>();

  private constructor(
    private readonly child: ChildProcess,
    private readonly options: ProbeOptions,
  ) {}

  static async start(lab: BridgeLab, host: string, options: ProbeOptions): Promise<Probe> {
    const child = lab.spawn(host, process.execPath, [labScript('probe'), '--host', options.host, '--port', String(options.port)]);
    const probe = new Probe(child, options);
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const ready = new Promise<boolean>((resolve) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        let message: { ready?: number; t: number; r?: number; n?: string; e?: string };
        try {
          message = JSON.parse(line) as typeof message;
        } catch {
          return;
        }
        if (message.ready !== undefined) resolve(true);
        else probe.record(message);
      });
      child.once('exit', () => resolve(false));
    });
    if (!(await withTimeout(ready, 10_000, false))) throw new Error(`the client's probe did not start: ${stderr.trim()}`);
    return probe;
  }

  private record(message: { t: number; r?: number; n?: string; e?: string }): void {
    if (message.r === undefined) {
      this.failures.push({ sentMs: message.t, error: message.e ?? '?' });
      return;
    }
    const node = this.options.label?.(message.n ?? '?') ?? message.n ?? '?';
    this.samples.push({ sentMs: message.t, replyMs: message.r, who: node });
    const timeMs = Math.round(message.r);
    const last = this.last;
    if (last === undefined || last.node !== node || timeMs - last.timeMs > GAP_MS) {
      const reply = { node, timeMs, prevNode: last?.node ?? null, prevTimeMs: last?.timeMs ?? null };
      this.replies.push(reply);
      this.options.onReply?.(reply);
    }
    this.last = { node, timeMs };
    for (const waiter of this.waiters) waiter();
  }

  /** Resolve with the first reply (from index `from` on) that matches; undefined on timeout; reject on abort. */
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

  /** Forget samples and failures sent before `beforeMs` (a long run would keep them all). */
  prune(beforeMs: number): void {
    pruneBefore(this.samples, (s) => s.sentMs, beforeMs);
    pruneBefore(this.failures, (f) => f.sentMs, beforeMs);
  }

  stop(): void {
    this.child.kill('SIGKILL');
  }
}

/** Drop, in place, the items of `list` whose time is before `beforeMs`. */
export function pruneBefore<T>(list: T[], time: (item: T) => number, beforeMs: number): void {
  const kept = list.filter((item) => time(item) >= beforeMs);
  list.splice(0, list.length, ...kept);
}

/**
 * How long two addresses (a dual-stack pair of VIPs) were held on different nodes in [fromMs, now]:
 * both held, by different sets of hosts. A moment in which one is held by nobody (between a goodbye
 * and the takeover) is not a split. The total and the longest single stretch, in ms.
 */
export function splitTime<H extends string>(a: VipWatch<H>, b: VipWatch<H>, fromMs: number, nowMs = Date.now()): { totalMs: number; longestMs: number } {
  const merged = [...a.events.map((e) => ({ ...e, which: 0 })), ...b.events.map((e) => ({ ...e, which: 1 }))].sort((x, y) => x.timeMs - y.timeMs || x.which - y.which);
  const sets = [new Set<H>(), new Set<H>()] as const;
  const split = (): boolean => sets[0].size > 0 && sets[1].size > 0 && [...sets[0]].sort().join() !== [...sets[1]].sort().join();
  let totalMs = 0;
  let longestMs = 0;
  let since: number | undefined;
  const close = (at: number): void => {
    if (since === undefined) return;
    const length = Math.max(0, at - Math.max(since, fromMs));
    totalMs += length;
    longestMs = Math.max(longestMs, length);
    since = undefined;
  };
  for (const e of merged) {
    if (e.timeMs > nowMs) break;
    const set = sets[e.which === 0 ? 0 : 1];
    if (e.held) set.add(e.host);
    else set.delete(e.host);
    if (split()) since ??= e.timeMs;
    else if (e.timeMs >= fromMs) close(e.timeMs);
    else since = undefined;
  }
  close(nowMs);
  return { totalMs, longestMs };
}
