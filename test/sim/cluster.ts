/**
 * A simulated VRRP cluster: routers on one segment, a virtual clock, the checkers.
 *
 * `step()` jumps the clock straight to the next thing that can happen (a packet arriving, a machine
 * deadline, a script run, a scheduled fault), does everything due at that millisecond, then runs every
 * checker. Nothing waits on wall time, so an hour of protocol runs in well under a second. Every run
 * is bounded (steps and simulated time), and a step that does not move the clock too many times in a
 * row is a stall and fails.
 */
import { formatIpv4, parseIpv4, type Ipv4 } from '../../src/core/ip.js';
import { defaultCheckers, LivenessChecker, type Checker, type ClusterView } from './checkers.js';
import { CLEAN_LINK, Network, VirtualClock, type LinkConditions } from './network.js';
import { Prng } from './prng.js';
import { SimRouter, type EngineFactory, type RouterSpec } from './router.js';

export class SimulationError extends Error {
  constructor(
    message: string,
    readonly atMs: number,
    readonly trace: readonly string[],
  ) {
    super(`${message}\n--- last ${trace.length} trace lines ---\n${trace.join('\n')}`);
    this.name = 'SimulationError';
  }
}

export interface ClusterOptions {
  seed: number;
  routers: RouterSpec[];
  conditions?: Partial<LinkConditions>;
  /** Keep every packet with its fate in `cluster.network.log`. */
  recordPackets?: boolean;
  /** Checkers run after every step; defaults to safety, VIP and liveness. */
  checkers?: Checker[];
  /** Upper bound on steps over the cluster's life. */
  maxSteps?: number;
  /** Steps allowed at one millisecond before the run counts as stalled. */
  maxStepsWithoutProgress?: number;
  traceLines?: number;
  /** The engine every router runs; the planted-bug test hands in a broken one. */
  engine?: EngineFactory;
}

interface Scheduled {
  atMs: number;
  seq: number;
  label: string;
  run: () => void;
}

export function address(text: string): Ipv4 {
  const value = parseIpv4(text);
  if (value === undefined) throw new Error(`bad address ${text}`);
  return value;
}

export class Cluster implements ClusterView {
  readonly clock = new VirtualClock();
  readonly prng: Prng;
  readonly network: Network;
  readonly routers: SimRouter[];
  readonly checkers: Checker[];
  steps = 0;
  /**
   * Which host the segment's ARP caches (clients, the switch) map the VIP to: the sender of the last
   * gratuitous ARP. GARPs are link-layer broadcasts, so VRRP partitions (a protocol 112 firewall, a
   * one-way filter) do not stop them; a host whose link is down sends none.
   */
  arpOwner: string | undefined;
  private routerDisturbanceMs = 0;
  private readonly scheduled: Scheduled[] = [];
  private scheduleSeq = 0;
  private readonly traceRing: string[] = [];
  private readonly traceLimit: number;
  private readonly maxSteps: number;
  private readonly maxStepsWithoutProgress: number;
  private stepsAtThisMs = 0;
  private lastStepMs = -1;

  constructor(options: ClusterOptions) {
    this.prng = new Prng(options.seed);
    this.network = new Network(this.prng.fork(), this.clock, { ...CLEAN_LINK, ...options.conditions }, { record: options.recordPackets ?? false });
    this.checkers = options.checkers ?? defaultCheckers();
    this.maxSteps = options.maxSteps ?? 20_000_000;
    this.maxStepsWithoutProgress = options.maxStepsWithoutProgress ?? 10_000;
    this.traceLimit = options.traceLines ?? 60;
    const events = {
      disturbance: (router: SimRouter, what: string) => {
        this.routerDisturbanceMs = this.clock.nowMs;
        this.trace(`${this.clock.nowMs} ${router.name} ${what}`);
      },
      garp: (router: SimRouter) => {
        this.arpOwner = router.name;
      },
      trace: (line: string) => this.trace(line),
    };
    this.routers = options.routers.map((spec) => new SimRouter(spec, this.clock, this.network, events, options.engine));
    for (const router of this.routers) this.network.attach(router);
  }

  get nowMs(): number {
    return this.clock.nowMs;
  }

  get lastDisturbanceMs(): number {
    return Math.max(this.network.lastDisturbanceMs, this.routerDisturbanceMs);
  }

  get liveness(): LivenessChecker | undefined {
    return this.checkers.find((c): c is LivenessChecker => c instanceof LivenessChecker);
  }

  router(name: string): SimRouter {
    const router = this.routers.find((r) => r.name === name);
    if (router === undefined) throw new Error(`no router ${name}`);
    return router;
  }

  /** Start vrrpd on every host at the current time. */
  start(): this {
    for (const router of this.routers) router.start();
    this.check();
    return this;
  }

  // --- faults --------------------------------------------------------------------------------

  /** Cut the segment in two: neither side hears the other. */
  partition(sideA: readonly string[], sideB: readonly string[]): void {
    this.trace(`${this.nowMs} partition [${sideA.join(',')}] | [${sideB.join(',')}]`);
    this.network.partition(this.addresses(sideA), this.addresses(sideB));
  }

  /** Cut only the direction from `senders` to `receivers`: the receivers stop hearing the senders. */
  partitionOneWay(senders: readonly string[], receivers: readonly string[]): void {
    this.trace(`${this.nowMs} one-way partition [${senders.join(',')}] -> [${receivers.join(',')}] cut`);
    this.network.block(this.addresses(senders), this.addresses(receivers));
  }

  heal(): void {
    this.trace(`${this.nowMs} heal`);
    this.network.heal();
  }

  setConditions(conditions: Partial<LinkConditions>): void {
    this.trace(`${this.nowMs} link conditions ${JSON.stringify(conditions)}`);
    this.network.setConditions(conditions);
  }

  /** Run `fn` when the clock reaches `atMs` (in the step that reaches it, before packets and timers). */
  at(atMs: number, label: string, run: () => void): void {
    if (atMs < this.nowMs) throw new Error(`cannot schedule ${label} in the past (${atMs} < ${this.nowMs})`);
    const item = { atMs, seq: this.scheduleSeq++, label, run };
    let index = this.scheduled.length;
    while (index > 0 && (this.scheduled[index - 1] as Scheduled).atMs > atMs) index--;
    this.scheduled.splice(index, 0, item);
  }

  // --- running -------------------------------------------------------------------------------

  /** Advance to the next event (not past limitMs) and process everything due then. False when nothing was due by limitMs. */
  step(limitMs = Number.POSITIVE_INFINITY): boolean {
    let nextMs = Math.min(this.network.nextDeliveryMs(), this.scheduled[0]?.atMs ?? Number.POSITIVE_INFINITY);
    for (const router of this.routers) nextMs = Math.min(nextMs, router.nextEventMs());
    if (nextMs > limitMs) {
      if (Number.isFinite(limitMs)) this.clock.advanceTo(Math.max(this.nowMs, limitMs));
      return false;
    }
    const nowMs = Math.max(nextMs, this.nowMs);
    this.clock.advanceTo(nowMs);
    if (++this.steps > this.maxSteps) this.fail(`run exceeded ${this.maxSteps} steps`);
    this.stepsAtThisMs = nowMs === this.lastStepMs ? this.stepsAtThisMs + 1 : 0;
    this.lastStepMs = nowMs;
    if (this.stepsAtThisMs > this.maxStepsWithoutProgress) this.fail(`stalled: ${this.stepsAtThisMs} steps without the clock moving`);

    while (this.scheduled.length > 0 && (this.scheduled[0] as Scheduled).atMs <= nowMs) {
      const item = this.scheduled.shift() as Scheduled;
      item.run();
    }
    let delivered = 0;
    while (this.network.deliverNext()) {
      if (++delivered > this.maxStepsWithoutProgress) this.fail(`stalled: ${delivered} packets delivered at one millisecond (a packet storm)`);
    }
    for (const router of this.routers) {
      try {
        router.runDue(nowMs);
      } catch (error) {
        this.fail(`${router.name} threw: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    this.check();
    return true;
  }

  /** Run for `durationMs` of simulated time. */
  runFor(durationMs: number): this {
    const targetMs = this.nowMs + durationMs;
    while (this.step(targetMs));
    return this;
  }

  /** Run until the predicate holds (checked after every step); returns the time it first held, or undefined after maxMs. */
  runUntil(predicate: (cluster: this) => boolean, maxMs: number): number | undefined {
    const targetMs = this.nowMs + maxMs;
    if (predicate(this)) return this.nowMs;
    while (this.step(targetMs)) if (predicate(this)) return this.nowMs;
    return predicate(this) ? this.nowMs : undefined;
  }

  // --- what tests read -----------------------------------------------------------------------

  masters(): string[] {
    return this.routers.filter((r) => r.instances.some((i) => i.machine.state === 'MASTER')).map((r) => r.name);
  }

  vipHolders(): string[] {
    return this.routers.filter((r) => r.holdsVips).map((r) => r.name);
  }

  states(): Record<string, string> {
    return Object.fromEntries(this.routers.map((r) => [r.name, r.state]));
  }

  get traceLines(): readonly string[] {
    return this.traceRing;
  }

  trace(line: string): void {
    this.traceRing.push(line);
    if (this.traceRing.length > this.traceLimit) this.traceRing.shift();
  }

  describe(): string {
    return this.routers.map((r) => `${r.name}=${formatIpv4(r.address)}:${r.state}${r.running ? `/${r.effectivePriority}` : ''}${r.holdsVips ? '+VIP' : ''}`).join(' ');
  }

  fail(message: string): never {
    throw new SimulationError(`at ${this.nowMs} ms: ${message}\nstate: ${this.describe()}`, this.nowMs, [...this.traceRing]);
  }

  private check(): void {
    for (const checker of this.checkers) {
      const violation = checker.check(this);
      if (violation !== undefined) this.fail(`${checker.name} violated: ${violation}`);
    }
  }

  private addresses(names: readonly string[]): Ipv4[] {
    return names.map((n) => this.router(n).address);
  }
}
