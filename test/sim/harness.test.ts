/**
 * Tests of the simulator itself: the PRNG replays, the bus does what its conditions say, and every
 * checker fires on the failure it exists for (a checker that cannot fail proves nothing).
 */
import { describe, expect, it } from 'vitest';
import { FaultChecker, LivenessChecker, SafetyChecker, VipChecker } from './checkers.js';
import { address, Cluster, SimulationError } from './cluster.js';
import { CLEAN_LINK, Network, VirtualClock, type Endpoint } from './network.js';
import { Prng } from './prng.js';
import { seedCluster } from './seed-cluster.js';

describe('Prng', () => {
  it('replays the same stream for the same seed and differs across seeds', () => {
    const a = new Prng(42);
    const b = new Prng(42);
    const c = new Prng(43);
    const draw = (p: Prng): number[] => Array.from({ length: 8 }, () => p.nextUint32());
    const fromA = draw(a);
    expect(draw(b)).toEqual(fromA);
    expect(draw(c)).not.toEqual(fromA);
    expect(new Prng(2 ** 40).nextUint32()).not.toBe(new Prng(0).nextUint32());
  });
  it('draws uniformly enough: int covers its range, float stays in [0, 1), chance matches p', () => {
    const prng = new Prng(7);
    const seen = new Set<number>();
    let hits = 0;
    let outside = 0;
    for (let i = 0; i < 20_000; i++) {
      seen.add(prng.int(2, 5));
      const f = prng.float();
      if (f < 0 || f >= 1) outside++;
      if (prng.chance(0.25)) hits++;
    }
    expect(outside).toBe(0);
    expect([...seen].sort()).toEqual([2, 3, 4, 5]);
    expect(hits / 20_000).toBeGreaterThan(0.23);
    expect(hits / 20_000).toBeLessThan(0.27);
  });
  it('fork gives an independent, replayable stream', () => {
    const parent = new Prng(1);
    const child = parent.fork();
    const again = new Prng(1).fork();
    expect(child.nextUint32()).toBe(again.nextUint32());
    expect(child.nextUint32()).not.toBe(parent.nextUint32());
  });
});

class Sink implements Endpoint {
  readonly received: { atMs: number; packet: Uint8Array }[] = [];
  up = true;
  constructor(
    readonly name: string,
    readonly address: number,
  ) {}
  canSend(): boolean {
    return this.up;
  }
  canReceive(): boolean {
    return this.up;
  }
  receive(atMs: number, packet: Uint8Array): void {
    this.received.push({ atMs, packet });
  }
}

function bus(conditions = {}, seed = 1): { clock: VirtualClock; network: Network; a: Sink; b: Sink; c: Sink } {
  const clock = new VirtualClock();
  const network = new Network(new Prng(seed), clock, { ...CLEAN_LINK, ...conditions }, { record: true });
  const a = new Sink('a', address('10.0.0.1'));
  const b = new Sink('b', address('10.0.0.2'));
  const c = new Sink('c', address('10.0.0.3'));
  for (const e of [a, b, c]) network.attach(e);
  return { clock, network, a, b, c };
}

/** Deliver everything due up to untilMs in time order, then set the clock there. */
function drain(clock: VirtualClock, network: Network, untilMs = Number.POSITIVE_INFINITY): void {
  for (;;) {
    const next = network.nextDeliveryMs();
    if (next > untilMs || !Number.isFinite(next)) break;
    clock.advanceTo(next);
    network.deliverNext();
  }
  if (Number.isFinite(untilMs)) clock.advanceTo(untilMs);
}

const packet = (n: number): Uint8Array => new Uint8Array([0x45, n]);

describe('Network', () => {
  it('multicast reaches every other endpoint, unicast only its destination, after the link delay', () => {
    const { clock, network, a, b, c } = bus({ delayMs: 3 });
    network.send(a, address('224.0.0.18'), packet(1));
    network.send(a, c.address, packet(2));
    drain(clock, network);
    expect(a.received).toEqual([]);
    expect(b.received.map((r) => [r.atMs, r.packet[1]])).toEqual([[3, 1]]);
    expect(c.received.map((r) => [r.atMs, r.packet[1]])).toEqual([[3, 1], [3, 2]]);
  });
  it('jitter alone never reorders a link; reordering does, and its delay stays within the bound', () => {
    const inOrder = bus({ delayMs: 1, jitterMs: 50 });
    for (let t = 0; t < 200; t++) {
      drain(inOrder.clock, inOrder.network, t);
      inOrder.network.send(inOrder.a, inOrder.b.address, packet(t % 256));
    }
    drain(inOrder.clock, inOrder.network);
    const order = inOrder.b.received.map((r) => r.packet[1]);
    expect(order).toEqual(Array.from({ length: 200 }, (_, t) => t % 256));

    const shuffled = bus({ delayMs: 1, jitterMs: 5, reorderRate: 0.3, reorderExtraMs: 40 });
    for (let t = 0; t < 200; t++) {
      drain(shuffled.clock, shuffled.network, t);
      shuffled.network.send(shuffled.a, shuffled.b.address, packet(t));
    }
    drain(shuffled.clock, shuffled.network);
    const got = shuffled.b.received.map((r) => r.packet[1] as number);
    expect(got).not.toEqual([...got].sort((x, y) => x - y));
    expect(shuffled.network.maxDelayBoundMs).toBe(46);
    for (const r of shuffled.network.log ?? []) expect((r.deliveredAtMs as number) - r.sentAtMs).toBeLessThanOrEqual(46);
  });
  it('loss and duplication happen at about their rates, and a loss marks the link unclean', () => {
    const { clock, network, a, b } = bus({ lossRate: 0.2, duplicateRate: 0.1 });
    for (let t = 1; t <= 5000; t++) {
      drain(clock, network, t);
      network.send(a, b.address, packet(0));
    }
    drain(clock, network);
    expect(network.counters.lost / 5000).toBeGreaterThan(0.17);
    expect(network.counters.lost / 5000).toBeLessThan(0.23);
    expect(network.counters.duplicated / 5000).toBeGreaterThan(0.08);
    expect(network.counters.duplicated / 5000).toBeLessThan(0.12);
    expect(network.link(a.address, b.address).cleanSinceMs).toBeGreaterThan(4900);
    expect(network.link(b.address, a.address).cleanSinceMs).toBe(0);
  });
  it('a partition drops packets already in flight; a one-way partition only one direction; heal restores both', () => {
    const { clock, network, a, b } = bus({ delayMs: 10 });
    network.send(a, b.address, packet(1));
    clock.advanceTo(5);
    network.partition([a.address], [b.address]);
    drain(clock, network);
    expect(b.received).toEqual([]);
    expect(network.log?.[0]?.fate).toBe('partitioned');
    network.heal();
    network.block([a.address], [b.address]);
    network.send(a, b.address, packet(2));
    network.send(b, a.address, packet(3));
    drain(clock, network);
    expect(b.received).toEqual([]);
    expect(a.received.map((r) => r.packet[1])).toEqual([3]);
    network.heal();
    network.send(a, b.address, packet(4));
    drain(clock, network);
    expect(b.received.map((r) => r.packet[1])).toEqual([4]);
  });
  it('corruption flips a bit after the IP header only', () => {
    const { clock, network, a, b } = bus({ corruptRate: 1 });
    const original = new Uint8Array(40).fill(0);
    original[0] = 0x45;
    network.send(a, b.address, original);
    drain(clock, network);
    const got = b.received[0]?.packet as Uint8Array;
    expect(got.subarray(0, 20)).toEqual(original.subarray(0, 20));
    expect(got.subarray(20)).not.toEqual(original.subarray(20));
    expect(original.subarray(20).every((x) => x === 0)).toBe(true); // the sender's bytes are untouched
  });
});

describe('the checkers catch what they exist for', () => {
  it('safety: m2 with another auth_pass drops every advert of m1 and becomes a second MASTER (split brain) -> dual MASTER reported', () => {
    const run = (): Cluster =>
      seedCluster({
        preempt: true,
        checkers: [new SafetyChecker()],
        configure: (name, doc) => {
          if (name === 'm2') doc.setIn(['vrrp_instance', 'VI_1', 'authentication', 'auth_pass'], '654321');
        },
      }).runFor(60_000);
    expect(run).toThrow(SimulationError);
    expect(run).toThrow(/safety violated: dual MASTER for VRID 251: m1\(10\.0\.0\.51, VI_1 priority 100\) and m2/);
  });
  it('safety: differing advert_int is the same split brain', () => {
    const run = (): Cluster =>
      seedCluster({
        preempt: true,
        checkers: [new SafetyChecker()],
        configure: (name, doc) => {
          if (name === 'm3') doc.setIn(['vrrp_instance', 'VI_1', 'advert_int'], 2);
        },
      }).runFor(60_000);
    expect(run).toThrow(/dual MASTER/);
  });
  it('safety: a dual MASTER across a partition is allowed (they cannot hear each other)', () => {
    const cluster = seedCluster({ preempt: true, checkers: [new SafetyChecker()] }).runFor(10_000);
    cluster.partition(['m1'], ['m2', 'm3']);
    cluster.runFor(60_000);
    expect(cluster.masters()).toEqual(['m1', 'm2']);
  });
  it('liveness: the same split brain, seen by the liveness checker alone, is "2 MASTERs" once the cluster is quiet', () => {
    const run = (): Cluster =>
      seedCluster({
        preempt: true,
        checkers: [new LivenessChecker()],
        configure: (name, doc) => {
          if (name === 'm2') doc.setIn(['vrrp_instance', 'VI_1', 'authentication', 'auth_pass'], 'x');
        },
      }).runFor(60_000);
    expect(run).toThrow(/liveness violated: VRID 251: 2 MASTERs/);
  });
  it('liveness: a backup that preempts but stays under a lower master is reported', () => {
    // The real machine never gets stuck like this (that is what the checker guards), so the rule is
    // checked directly: a quiet, healthy cluster passes; then m1 claims a priority above the master's.
    const cluster = seedCluster({ preempt: true, priorities: [98, 99, 100] }).runFor(60_000);
    expect(cluster.masters()).toEqual(['m3']);
    const checker = new LivenessChecker();
    expect(checker.check(cluster)).toBeUndefined();
    expect(checker.checks).toBe(1);
    // Pretend m1's priority rose above m3's without telling anyone: a stuck preempting backup.
    Object.defineProperty(cluster.router('m1').machine, 'effectivePriority', { get: () => 200 });
    expect(checker.check(cluster)).toMatch(/m1\(10\.0\.0\.51, VI_1 priority 200\) preempts but is still BACKUP under m3/);
  });
  it('liveness is not asserted while the cluster is disturbed (every change restarts its clock)', () => {
    const cluster = seedCluster({ preempt: true });
    cluster.runFor(5_000);
    expect(cluster.liveness?.checks).toBe(0);
    cluster.runFor(30_000);
    expect(cluster.liveness?.checks).toBeGreaterThan(0);
    const before = cluster.liveness?.checks ?? 0;
    cluster.router('m3').stop();
    cluster.runFor(LivenessChecker.boundMs(cluster.routers, cluster.network));
    expect(cluster.liveness?.checks).toBe(before);
  });
  it('vip: a VIP on a host whose instance is not MASTER is reported', () => {
    const cluster = seedCluster({ preempt: true, checkers: [new VipChecker()] }).runFor(10_000);
    cluster.router('m2').addVipsBehindBack();
    expect(() => cluster.runFor(1000)).toThrow(/vip violated: m2 holds the VIPs of VI_1 in state BACKUP/);
  });
  it('a run is bounded: too many steps fail instead of running forever', () => {
    const cluster = new Cluster({ seed: 1, routers: seedCluster({ stopped: true }).routers.map((r) => r.spec), maxSteps: 50 });
    cluster.start();
    expect(() => cluster.runFor(3_600_000)).toThrow(/exceeded 50 steps/);
  });
});

describe('the fault checker', () => {
  it('reports a router that stays MASTER although its link-down fault holds', () => {
    const cluster = seedCluster({ preempt: true, checkers: [new FaultChecker()] }).runFor(10_000);
    // The real machine reconciles at once, so fake the inconsistency: a cause added behind its back.
    const machine = cluster.router('m2').machine as unknown as { externalFaults: Set<string> };
    machine.externalFaults.add('interface:ens32');
    expect(() => cluster.runFor(1000)).toThrow(/fault violated: m2 VI_1 is BACKUP although interface:ens32 holds it in FAULT/);
  });
});
