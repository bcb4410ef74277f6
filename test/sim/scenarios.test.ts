/**
 * The user's three Kubernetes masters in the simulator, one story per test. Every test also runs the
 * safety, VIP and liveness checkers after every step (see checkers.ts), so "no dual master" is
 * asserted continuously, not only where a test says so.
 *
 * Times: every daemon starts at t = 0 on a 1 ms LAN (D = 1). Master_Down_Interval (MDI) is
 * 3 s + Skew_Time, Skew_Time = (256 - priority) / 256 s: MDI(100) = 3609, MDI(99) = 3613,
 * MDI(98) = 3617, MDI(80) = 3687 ms.
 */
import { describe, expect, it } from 'vitest';
import type { Document } from 'yaml';
import { decodeAdvert, isAdvertV3, parseIpHeader, v3Checksum } from '../../src/core/codec.js';
import { formatIpv4, VRRP_MULTICAST_GROUP } from '../../src/core/ip.js';
import { masterDownIntervalMs, masterDownIntervalV3Ms, skewTimeMs, skewTimeV3Ms } from '../../src/core/timers.js';
import { LivenessChecker, SafetyChecker } from './checkers.js';
import { Cluster } from './cluster.js';
import { exampleConfig, SEED_NODES, seedCluster, VIP } from './seed-cluster.js';

const I = 1000;
const D = 1;
const MDI = (priority: number): number => masterDownIntervalMs(1, priority);

/** Run until `name` is MASTER; fail the test if it does not happen within maxMs. */
function untilMaster(cluster: Cluster, name: string, maxMs = 60_000): number {
  const at = cluster.runUntil((c) => c.masters().includes(name), maxMs);
  if (at === undefined) throw new Error(`${name} did not become MASTER within ${maxMs} ms: ${cluster.describe()}`);
  return at;
}

/** When the router's check tracker last reported `status` (the effective priority changes then). */
function trackerChangeAt(cluster: Cluster, name: string, status: 'ok' | 'failed'): number {
  const line = [...cluster.traceLines].reverse().find((l) => l.endsWith(`${name} tracker script:check -> ${status}`));
  if (line === undefined) throw new Error(`no tracker change ${name} -> ${status} in the trace`);
  return Number(line.split(' ')[0]);
}

/** The largest number of simultaneous MASTERs seen while running for durationMs. */
function maxMastersDuring(cluster: Cluster, durationMs: number): number {
  let most = cluster.masters().length;
  cluster.runUntil((c) => {
    most = Math.max(most, c.masters().length);
    return false;
  }, durationMs);
  return most;
}

describe('election and steady state (the seed, preemptive)', () => {
  it('m1 becomes MASTER after its Master_Down (everyone starts BACKUP), the others stay BACKUP, only m1 holds 10.0.0.50', () => {
    const cluster = seedCluster({ preempt: true, recordPackets: true });
    expect(untilMaster(cluster, 'm1')).toBe(MDI(100));
    cluster.runFor(60_000);
    expect(cluster.states()).toEqual({ m1: 'MASTER', m2: 'BACKUP', m3: 'BACKUP' });
    expect(cluster.vipHolders()).toEqual(['m1']);
    expect(cluster.router('m2').transitions.map((t) => t.to)).toEqual(['BACKUP']);
    expect(cluster.router('m3').transitions.map((t) => t.to)).toEqual(['BACKUP']);
  });

  it('m1 sends an advert every second, as one unicast IPv4 packet per peer, and the backups send nothing', () => {
    const cluster = seedCluster({ preempt: true, recordPackets: true });
    cluster.runFor(20_000);
    const log = cluster.network.log ?? [];
    expect(log.every((p) => p.from === 'm1')).toBe(true);
    const sendTimes = [...new Set(log.map((p) => p.sentAtMs))];
    expect(sendTimes[0]).toBe(MDI(100));
    expect(sendTimes.slice(1).map((t, i) => t - (sendTimes[i] as number))).toEqual(new Array(sendTimes.length - 1).fill(I));
    for (const sentAtMs of sendTimes) {
      expect(log.filter((p) => p.sentAtMs === sentAtMs).map((p) => formatIpv4(p.destination))).toEqual(['10.0.0.52', '10.0.0.53']);
    }
    const first = log[0]?.packet ?? new Uint8Array();
    const ip = parseIpHeader(first);
    expect(ip).toMatchObject({ ok: true, ip: { ttl: 255, tos: 0xc0, protocol: 112, source: cluster.router('m1').address } });
    const advert = decodeAdvert(first, 20);
    expect(advert).toMatchObject({ ok: true, advert: { version: 2, type: 1, virtualRouterId: 251, priority: 100, authType: 1, advertIntervalSec: 1, addresses: [VIP] } });
    if (advert.ok && !isAdvertV3(advert.advert)) expect(new TextDecoder().decode(advert.advert.authData)).toBe('123456\0\0');
    else throw new Error('not a VRRPv2 advert');
    expect(log.every((p) => p.fate === 'delivered')).toBe(true);
  });

  it('becoming MASTER sends a GARP burst at once and another garp_master_delay (5 s) later', () => {
    const cluster = seedCluster({ preempt: true }).runFor(30_000);
    expect(cluster.router('m1').garps).toEqual([
      { atMs: MDI(100), instance: 'VI_1', why: 'become_master' },
      { atMs: MDI(100) + 5000, instance: 'VI_1', why: 'delayed' },
    ]);
  });
});

describe("the master's kube-apiserver dies", () => {
  it('with preempt, the VIP moves to m2 about 3 s + Skew_Time after the priority drop, and only m2 takes it', () => {
    const cluster = seedCluster({ preempt: true }).runFor(10_000);
    cluster.router('m1').killApiserver();
    const killedAt = cluster.nowMs;
    const takeoverAt = untilMaster(cluster, 'm2');
    const droppedAt = trackerChangeAt(cluster, 'm1', 'failed');
    // The script runs every 2 s with fall 1: noticed at its next run.
    expect(droppedAt - killedAt).toBeGreaterThanOrEqual(0);
    expect(droppedAt - killedAt).toBeLessThanOrEqual(2000);
    // m2 last accepted one of m1's priority-100 adverts in the second before the drop; from then on
    // it ignores m1's adverts (80 < 99) and its Master_Down (3 s + (256-99)/256 s) runs out.
    expect(takeoverAt - droppedAt).toBeGreaterThan(MDI(99) - I + D);
    expect(takeoverAt - droppedAt).toBeLessThanOrEqual(MDI(99) + D);
    cluster.runFor(D);
    expect(cluster.states()).toEqual({ m1: 'BACKUP', m2: 'MASTER', m3: 'BACKUP' });
    expect(cluster.router('m1').transitions.at(-1)).toMatchObject({ reason: 'higher_priority_advert', effectivePriority: 80 });
    cluster.runFor(60_000);
    expect(cluster.vipHolders()).toEqual(['m2']);
  });

  it('with nopreempt (the seed\'s other variant) the VIP does NOT move: the backups accept every advert (the trap)', () => {
    const cluster = seedCluster({ preempt: false }).runFor(10_000);
    expect(cluster.masters()).toEqual(['m1']);
    cluster.router('m1').killApiserver();
    cluster.runFor(10 * 60_000);
    expect(cluster.router('m1').effectivePriority).toBe(80);
    expect(cluster.router('m1').adverts.at(-1)?.priority).toBe(80);
    expect(cluster.states()).toEqual({ m1: 'MASTER', m2: 'BACKUP', m3: 'BACKUP' });
    expect(cluster.vipHolders()).toEqual(['m1']);
  });

  it('with preempt, when kube-apiserver comes back m1 takes the VIP back once its Master_Down runs out', () => {
    const cluster = seedCluster({ preempt: true }).runFor(10_000);
    cluster.router('m1').killApiserver();
    untilMaster(cluster, 'm2');
    cluster.runFor(30_000);
    cluster.router('m1').startApiserver();
    const takeoverAt = untilMaster(cluster, 'm1');
    const restoredAt = trackerChangeAt(cluster, 'm1', 'ok');
    // m1's last reset of Master_Down was an advert of m2 accepted while m1 was still 80 (so with
    // MDI(80)); from 100 on it ignores m2's 99.
    expect(takeoverAt - restoredAt).toBeGreaterThan(MDI(80) - I);
    expect(takeoverAt - restoredAt).toBeLessThanOrEqual(MDI(80));
    cluster.runFor(D);
    expect(cluster.states()).toEqual({ m1: 'MASTER', m2: 'BACKUP', m3: 'BACKUP' });
    expect(cluster.vipHolders()).toEqual(['m1']);
  });
});

describe('the master goes away', () => {
  it('graceful stop: m1 says goodbye with priority 0 and m2 takes over after Skew_Time ((256-99)/256 s), never two masters', () => {
    const cluster = seedCluster({ preempt: true }).runFor(10_000);
    cluster.router('m1').stop();
    const stoppedAt = cluster.nowMs;
    expect(cluster.router('m1').adverts.at(-1)).toEqual({ atMs: stoppedAt, instance: 'VI_1', priority: 0 });
    expect(cluster.vipHolders()).toEqual([]);
    const takeoverAt = untilMaster(cluster, 'm2');
    expect(takeoverAt - stoppedAt).toBe(D + skewTimeMs(99));
    expect(skewTimeMs(99)).toBe(613);
    expect(maxMastersDuring(cluster, 30_000)).toBe(1);
    expect(cluster.states()).toEqual({ m1: 'STOPPED', m2: 'MASTER', m3: 'BACKUP' });
  });

  it('crash (silence, no goodbye): m2 takes over one Master_Down after the last advert it heard', () => {
    const cluster = seedCluster({ preempt: true }).runFor(10_300);
    cluster.router('m1').crash();
    const crashedAt = cluster.nowMs;
    const takeoverAt = untilMaster(cluster, 'm2');
    expect(takeoverAt - crashedAt).toBeGreaterThan(MDI(99) - I + D);
    expect(takeoverAt - crashedAt).toBeLessThanOrEqual(MDI(99) + D);
    expect(maxMastersDuring(cluster, 30_000)).toBe(1);
    expect(cluster.vipHolders()).toEqual(['m2']);
  });

  it('after a crash and reboot m1 preempts m2 one Master_Down after it starts (it ignores the lower adverts)', () => {
    const cluster = seedCluster({ preempt: true }).runFor(10_000);
    cluster.router('m1').crash();
    untilMaster(cluster, 'm2');
    cluster.runFor(20_000);
    cluster.router('m1').powerOn();
    const bootedAt = cluster.nowMs;
    expect(untilMaster(cluster, 'm1') - bootedAt).toBe(MDI(100));
  });

  it('link down on m1: the goodbye cannot leave, so m2 takes over after Master_Down; link up: m1 preempts after a full Master_Down', () => {
    const cluster = seedCluster({ preempt: true }).runFor(10_300);
    cluster.router('m1').linkDown();
    const downAt = cluster.nowMs;
    expect(cluster.router('m1').state).toBe('FAULT');
    expect(cluster.vipHolders()).toEqual([]);
    const takeoverAt = untilMaster(cluster, 'm2');
    expect(takeoverAt - downAt).toBeGreaterThan(MDI(99) - I + D);
    expect(takeoverAt - downAt).toBeLessThanOrEqual(MDI(99) + D);
    cluster.runFor(20_000);
    cluster.router('m1').restoreLink();
    const upAt = cluster.nowMs;
    expect(cluster.router('m1').state).toBe('BACKUP');
    expect(untilMaster(cluster, 'm1') - upAt).toBe(MDI(100));
  });

  it('the VIP deleted behind the master\'s back: m1 gives it up and takes it back after one Skew_Time', () => {
    const cluster = seedCluster({ preempt: true }).runFor(10_000);
    cluster.router('m1').deleteVipsBehindBack();
    const deletedAt = cluster.nowMs;
    expect(cluster.router('m1').state).toBe('BACKUP');
    expect(untilMaster(cluster, 'm1') - deletedAt).toBe(skewTimeMs(100));
    expect(cluster.vipHolders()).toEqual(['m1']);
    expect(cluster.masters()).toEqual(['m1']);
  });
});

describe('partitions', () => {
  it('m1 cut off: both sides have a MASTER during the partition; after it heals exactly one (m1) within one advert interval', () => {
    const cluster = seedCluster({ preempt: true }).runFor(10_000);
    cluster.partition(['m1'], ['m2', 'm3']);
    untilMaster(cluster, 'm2');
    cluster.runFor(30_000);
    expect(cluster.masters()).toEqual(['m1', 'm2']);
    expect(cluster.vipHolders()).toEqual(['m1', 'm2']);
    cluster.heal();
    const healedAt = cluster.nowMs;
    const resolvedAt = cluster.runUntil((c) => c.masters().length === 1, 10_000);
    expect(resolvedAt).toBeDefined();
    expect((resolvedAt as number) - healedAt).toBeLessThanOrEqual(I + D);
    expect(cluster.masters()).toEqual(['m1']);
    expect(cluster.router('m2').transitions.at(-1)).toMatchObject({ to: 'BACKUP', reason: 'higher_priority_advert' });
    cluster.runFor(60_000);
    expect(cluster.vipHolders()).toEqual(['m1']);
  });

  it('one-way partition: m2 stops hearing m1 and becomes a second MASTER, and m1 (hearing it) stays MASTER and re-announces', () => {
    const cluster = seedCluster({ preempt: true }).runFor(10_000);
    cluster.partitionOneWay(['m1'], ['m2']);
    untilMaster(cluster, 'm2');
    cluster.runFor(20_000);
    // m2 hears m3 only (a BACKUP: silent), so it keeps its MASTER; m1 hears m2's 99 and answers
    // each with an advert and a GARP burst that m2 never receives. The checker allows this dual
    // MASTER because m2 cannot hear m1: exactly the field failure a firewall in one direction causes.
    expect(cluster.masters()).toEqual(['m1', 'm2']);
    expect(cluster.router('m1').garps.filter((g) => g.why === 'lower_priority_advert').length).toBeGreaterThan(10);
    cluster.heal();
    const healedAt = cluster.nowMs;
    const resolvedAt = cluster.runUntil((c) => c.masters().length === 1, 10_000);
    expect((resolvedAt as number) - healedAt).toBeLessThanOrEqual(I + D);
    expect(cluster.masters()).toEqual(['m1']);
  });
});

describe('priorities and preemption', () => {
  it('equal priorities: all three fire together, and the highest address (m3, 10.0.0.53) wins', () => {
    const cluster = seedCluster({ preempt: true, priorities: [100, 100, 100] });
    cluster.runFor(MDI(100));
    expect(cluster.masters()).toEqual(['m1', 'm2', 'm3']);
    cluster.runFor(D);
    expect(cluster.masters()).toEqual(['m3']);
    expect(cluster.router('m1').transitions.at(-1)?.reason).toBe('equal_priority_higher_address');
    expect(cluster.router('m2').transitions.at(-1)?.reason).toBe('equal_priority_higher_address');
    cluster.runFor(60_000);
    expect(cluster.vipHolders()).toEqual(['m3']);
  });

  it('preempt_delay 30 s: a rebooted m1 leaves the VIP on m2 for 30 s before it preempts (without it: one Master_Down)', () => {
    const cluster = seedCluster({ preempt: true, preemptDelayMs: 30_000 }).runFor(10_000);
    cluster.router('m1').crash();
    untilMaster(cluster, 'm2');
    cluster.runFor(20_000);
    cluster.router('m1').powerOn();
    const bootedAt = cluster.nowMs;
    const takeoverAt = untilMaster(cluster, 'm1', 120_000);
    // m1 accepts m2's lower adverts until 30 s after start, then ignores them; Master_Down runs
    // out one MDI after the last one it accepted.
    expect(takeoverAt - bootedAt).toBeGreaterThan(30_000 + MDI(100) - I);
    expect(takeoverAt - bootedAt).toBeLessThanOrEqual(30_000 + MDI(100));
    cluster.runFor(D);
    expect(cluster.masters()).toEqual(['m1']);
  });
});

describe('lossy network', () => {
  it('5 % loss for 10 minutes: the VIP never leaves m1; backup blips are rare and m1 out-ranks them at once', () => {
    // A backup takes over only when the 3 adverts after the last one it accepted are all lost:
    // rate (1 - p) p^3 per backup per second = 1.2e-4 /s, so 2 backups x 600 s expect 0.14 blips.
    // Each blip is one advert: m1 hears priority 99 and answers with 100, and the backup steps down.
    const cluster = seedCluster({ preempt: true, conditions: { lossRate: 0.05 }, seed: 5 }).runFor(10_000);
    expect(cluster.masters()).toEqual(['m1']);
    let vipLeftM1 = false;
    cluster.runUntil((c) => {
      if (!c.vipHolders().includes('m1')) vipLeftM1 = true;
      return false;
    }, 10 * 60_000);
    expect(vipLeftM1).toBe(false);
    expect(cluster.router('m1').transitions.map((t) => t.to)).toEqual(['BACKUP', 'MASTER']);
    const blips = ['m2', 'm3'].flatMap((n) => cluster.router(n).transitions.filter((t) => t.to === 'MASTER'));
    expect(blips.length).toBeLessThanOrEqual(2);
    expect(cluster.network.counters.lost).toBeGreaterThan(0);
  });

  it('10 % loss for 2 hours: the number of blips matches the model (1 - p) p^3 per backup-second', () => {
    const p = 0.1;
    const durationMs = 2 * 3600_000;
    const cluster = seedCluster({ preempt: true, conditions: { lossRate: p }, seed: 10 }).runFor(10_000);
    cluster.runFor(durationMs);
    const expected = 2 * (durationMs / 1000) * (1 - p) * p ** 3; // 12.96
    const blips = ['m2', 'm3'].flatMap((n) => cluster.router(n).transitions.filter((t) => t.to === 'MASTER')).length;
    // Poisson(12.96): P(X < 4) and P(X > 26) are both below 0.1 %.
    expect(blips).toBeGreaterThanOrEqual(4);
    expect(blips).toBeLessThanOrEqual(26);
    expect(cluster.router('m1').transitions.map((t) => t.to)).toEqual(['BACKUP', 'MASTER']);
    expect(cluster.masters()).toEqual(['m1']);
  });
});

describe('multicast mode', () => {
  it('the same election with one packet per advert to 224.0.0.18, heard by both backups', () => {
    const cluster = seedCluster({ preempt: true, mode: 'multicast', recordPackets: true });
    expect(untilMaster(cluster, 'm1')).toBe(MDI(100));
    cluster.runFor(10_000);
    const log = cluster.network.log ?? [];
    expect(log.every((p) => p.destination === VRRP_MULTICAST_GROUP && p.from === 'm1')).toBe(true);
    const first = log.filter((p) => p.sentAtMs === MDI(100));
    expect(first.map((p) => p.to)).toEqual(['m2', 'm3']);
    expect(first[0]?.packet).toBe(first[1]?.packet); // one datagram, two receivers
    expect(parseIpHeader(first[0]?.packet ?? new Uint8Array())).toMatchObject({ ok: true, ip: { ttl: 255, destination: VRRP_MULTICAST_GROUP } });
    expect(cluster.vipHolders()).toEqual(['m1']);
  });

  it('crash and kube-apiserver failure behave as in unicast', () => {
    const cluster = seedCluster({ preempt: true, mode: 'multicast' }).runFor(10_000);
    cluster.router('m1').killApiserver();
    const takeoverAt = untilMaster(cluster, 'm2');
    expect(takeoverAt - trackerChangeAt(cluster, 'm1', 'failed')).toBeLessThanOrEqual(MDI(99) + D);
    cluster.runFor(10_000);
    cluster.router('m2').crash();
    const crashedAt = cluster.nowMs;
    // m1 (80) and m3 (98) remain: m3 ignores m1's 80 and takes over after its Master_Down.
    const m3At = untilMaster(cluster, 'm3');
    expect(m3At - crashedAt).toBeLessThanOrEqual(MDI(98) + D);
    cluster.runFor(30_000);
    expect(cluster.masters()).toEqual(['m3']);
  });
});

/** Heal the partition 2 ms after `name` sent an advert, so the other side's next advert arrives first. */
function healJustAfterAdvertOf(cluster: Cluster, name: string): void {
  cluster.runUntil((c) => c.router(name).adverts.at(-1)?.atMs === c.nowMs, 10_000);
  cluster.runFor(2);
  cluster.heal();
}

describe('field failures, documented (docs/protocol.md#known-field-failures)', () => {
  it('kill -9 of vrrpd on the master leaves 10.0.0.50 on m1: the VIP checker reports it at once', () => {
    const cluster = seedCluster({ preempt: true }).runFor(10_000);
    cluster.router('m1').kill();
    expect(() => cluster.runFor(10_000)).toThrow(/vip violated: m1 holds the VIPs in state STOPPED/);
  });

  it('kill -9: m2 takes over while m1 still answers for the VIP (two holders) until vrrpd restarts on m1 and removes it', () => {
    // Without the VIP checker, to watch what the network would see.
    const cluster = seedCluster({ preempt: true, checkers: [new SafetyChecker(), new LivenessChecker()] }).runFor(10_000);
    cluster.router('m1').kill();
    untilMaster(cluster, 'm2');
    cluster.runFor(30_000);
    expect(cluster.vipHolders()).toEqual(['m1', 'm2']);
    cluster.router('m1').start();
    expect(cluster.vipHolders()).toEqual(['m2']);
    untilMaster(cluster, 'm1');
    cluster.runFor(D);
    expect(cluster.vipHolders()).toEqual(['m1']);
  });

  it('partition heals and m2 (the loser) is heard first: m1 answers with an advert and a GARP burst, so clients learn m1 again', () => {
    const cluster = seedCluster({ preempt: true }).runFor(10_000);
    cluster.partition(['m1'], ['m2', 'm3']);
    untilMaster(cluster, 'm2');
    cluster.runFor(20_000);
    expect(cluster.arpOwner).toBe('m2'); // its become-MASTER and delayed bursts came last
    healJustAfterAdvertOf(cluster, 'm1');
    cluster.runFor(I + D);
    expect(cluster.masters()).toEqual(['m1']);
    expect(cluster.router('m1').garps.at(-1)?.why).toBe('lower_priority_advert');
    expect(cluster.arpOwner).toBe('m1');
  });

  it('partition heals and m1 (the winner) is heard first: m2 steps down with a parting advert, m1 answers with GARP, clients learn m1 again', () => {
    const cluster = seedCluster({ preempt: true }).runFor(10_000);
    cluster.partition(['m1'], ['m2', 'm3']);
    untilMaster(cluster, 'm2');
    cluster.runFor(20_000);
    expect(cluster.arpOwner).toBe('m2');
    healJustAfterAdvertOf(cluster, 'm2');
    cluster.runFor(I + D);
    expect(cluster.masters()).toEqual(['m1']);
    expect(cluster.router('m2').transitions.at(-1)).toMatchObject({ to: 'BACKUP', reason: 'higher_priority_advert' });
    // keepalived's loser steps down silently and clients keep its MAC (the field failure in
    // docs/protocol.md#known-field-failures); vrrpd's loser sends one advert at its own priority on
    // the way out (docs/protocol.md#where-vrrpd-differs-from-keepalived).
    expect(cluster.router('m1').garps.at(-1)?.why).toBe('lower_priority_advert');
    expect(cluster.arpOwner).toBe('m1');
    cluster.runFor(5 * 60_000);
    expect(cluster.vipHolders()).toEqual(['m1']);
    expect(cluster.arpOwner).toBe('m1');
  });

  it('the same heal with garp_master_refresh 10 s: clients learn m1 again within one refresh period', () => {
    const cluster = seedCluster({ preempt: true, configure: (_, doc) => doc.setIn(['vrrp_instance', 'VI_1', 'garp_master_refresh'], 10) }).runFor(10_000);
    expect(cluster.router('m1').machine.config.garpMasterRefreshMs).toBe(10_000);
    cluster.partition(['m1'], ['m2', 'm3']);
    untilMaster(cluster, 'm2');
    cluster.runFor(20_000);
    healJustAfterAdvertOf(cluster, 'm2');
    const healedAt = cluster.nowMs;
    const fixedAt = cluster.runUntil((c) => c.arpOwner === 'm1' && c.masters().length === 1, 60_000);
    expect(fixedAt).toBeDefined();
    expect((fixedAt as number) - healedAt).toBeLessThanOrEqual(10_000);
  });
});

describe('the example files as they are in the repository', () => {
  it("the seed's own keepalived.conf files (preempt): m1 wins, and when its kube-apiserver dies the VIP moves to m2", () => {
    const cluster = seedCluster({ preempt: true, format: 'keepalived' }).runFor(10_000);
    expect(cluster.states()).toEqual({ m1: 'MASTER', m2: 'BACKUP', m3: 'BACKUP' });
    cluster.router('m1').killApiserver();
    untilMaster(cluster, 'm2');
    cluster.runFor(10_000);
    expect(cluster.vipHolders()).toEqual(['m2']);
  });

  it("the seed's keepalived.conf files (nopreempt): the trap, the VIP stays on m1 with a dead kube-apiserver", () => {
    const cluster = seedCluster({ preempt: false, format: 'keepalived' }).runFor(10_000);
    expect(cluster.masters()).toEqual(['m1']);
    cluster.router('m1').killApiserver();
    cluster.runFor(60_000);
    expect(cluster.masters()).toEqual(['m1']);
    expect(cluster.router('m1').effectivePriority).toBe(80);
  });

  it('examples/recommended: kube-apiserver death puts m1 in FAULT (weight 0), and m2 takes over within fall x interval + Skew_Time', () => {
    const cluster = new Cluster({
      seed: 1,
      routers: SEED_NODES.map((node, i) => ({ name: node.name, address: node.address, config: exampleConfig(`recommended/master${i + 1}.yaml`) })),
    }).start();
    cluster.runFor(10_000);
    expect(cluster.masters()).toEqual(['m1']);
    cluster.router('m1').killApiserver();
    const killedAt = cluster.nowMs;
    const takeoverAt = untilMaster(cluster, 'm2');
    expect(cluster.router('m1').state).toBe('FAULT');
    // fall 3 at 200 ms: noticed 400-600 ms after the kill; then the priority-0 goodbye and Skew_Time(99).
    expect(takeoverAt - killedAt).toBeLessThanOrEqual(3 * 200 + skewTimeMs(99) + 2 * D);
    expect(cluster.router('m1').adverts.at(-1)?.priority).toBe(0);
  });
});

/** The seed's files switched to VRRPv3 at `advert_int` (what a user does: `version: 3`, drop the PASS block). */
function v3(advertInt: number) {
  return (_name: string, doc: Document): void => {
    doc.setIn(['vrrp_instance', 'VI_1', 'version'], 3);
    doc.setIn(['vrrp_instance', 'VI_1', 'advert_int'], advertInt);
    doc.deleteIn(['vrrp_instance', 'VI_1', 'authentication']);
  };
}

/** Backup blips (a backup becoming MASTER while m1 is alive) and whether the VIP ever left m1, over durationMs. */
function watchM1(cluster: Cluster, durationMs: number): { blips: number; vipLeftM1: boolean; arpOwnerNotM1Ms: number } {
  let vipLeftM1 = false;
  let arpOwnerNotM1Ms = 0;
  let lastMs = cluster.nowMs;
  cluster.runUntil((c) => {
    if (!c.vipHolders().includes('m1')) vipLeftM1 = true;
    if (c.arpOwner !== 'm1') arpOwnerNotM1Ms += c.nowMs - lastMs;
    lastMs = c.nowMs;
    return false;
  }, durationMs);
  const blips = ['m2', 'm3'].flatMap((n) => cluster.router(n).transitions.filter((t) => t.to === 'MASTER')).length;
  return { blips, vipLeftM1, arpOwnerNotM1Ms };
}

describe('VRRPv3 at advert_int 0.1 and 0.01 (docs/protocol.md#vrrpv3-timers)', () => {
  const MDI3 = (intervalCs: number, priority: number): number => masterDownIntervalV3Ms(intervalCs, priority);

  it('0.1 s: m1 is MASTER 3 x 0.1 s + Skew_Time(100) after start, advertises every 100 ms, one v3 packet per peer with its own checksum', () => {
    const cluster = seedCluster({ preempt: true, recordPackets: true, configure: v3(0.1) });
    expect(untilMaster(cluster, 'm1')).toBe(MDI3(10, 100));
    expect(MDI3(10, 100)).toBe(360.937);
    // Started in the same millisecond, all three time out within 0.8 ms, before m1's first advert
    // arrives (1 ms): three MASTERs for a moment; m1's advert settles it within one interval.
    cluster.runFor(1.5);
    expect(['m2', 'm3'].map((n) => cluster.router(n).transitions.map((t) => t.to))).toEqual([['BACKUP', 'MASTER', 'BACKUP'], ['BACKUP', 'MASTER', 'BACKUP']]);
    expect(cluster.masters()).toEqual(['m1']);
    cluster.runFor(10_000);
    expect(cluster.states()).toEqual({ m1: 'MASTER', m2: 'BACKUP', m3: 'BACKUP' });
    const log = (cluster.network.log ?? []).filter((p) => p.from === 'm1');
    const sendTimes = [...new Set(log.map((p) => p.sentAtMs))].filter((t) => t > 500);
    const gaps = sendTimes.slice(1).map((t, i) => Math.round((t - (sendTimes[i] as number)) * 1000) / 1000);
    expect(new Set(gaps)).toEqual(new Set([100]));
    const first = log.filter((p) => p.sentAtMs === sendTimes[0]);
    expect(first.map((p) => formatIpv4(p.destination))).toEqual(['10.0.0.52', '10.0.0.53']);
    const [to52, to53] = first.map((p) => p.packet.subarray(20));
    expect(decodeAdvert(to52!)).toMatchObject({ ok: true, advert: { version: 3, advertIntervalCs: 10, priority: 100 } });
    expect(v3Checksum(to52!, { source: cluster.router('m1').address, destination: cluster.router('m2').address })).toBe(0);
    expect(v3Checksum(to53!, { source: cluster.router('m1').address, destination: cluster.router('m3').address })).toBe(0);
    expect(to52![6]! * 256 + to52![7]!).not.toBe(to53![6]! * 256 + to53![7]!);
  });

  for (const [intervalCs, label] of [[10, '0.1 s'], [1, '0.01 s']] as const) {
    it(`${label}: crash of m1 (silence): m2 takes over exactly 3 x I + Skew_Time(99) after the last advert it heard (the floor), within I of the crash floor`, () => {
      const cluster = seedCluster({ preempt: true, configure: v3(intervalCs / 100) }).runFor(10_000 + 3 * intervalCs);
      cluster.router('m1').crash();
      const crashedAt = cluster.nowMs;
      const heardAt = cluster.router('m2').machine.lastAdvertReceivedMs as number;
      const takeoverAt = untilMaster(cluster, 'm2');
      // The floor: Master_Down counts from the last advert heard, to the microsecond.
      expect(takeoverAt - heardAt).toBeCloseTo(MDI3(intervalCs, 99), 9);
      expect(takeoverAt - crashedAt).toBeGreaterThan(MDI3(intervalCs, 99) - intervalCs * 10 + D - 1e-9);
      expect(takeoverAt - crashedAt).toBeLessThanOrEqual(MDI3(intervalCs, 99) + D + 1e-9);
      cluster.runFor(10_000);
      expect(cluster.masters()).toEqual(['m2']);
      expect(cluster.vipHolders()).toEqual(['m2']);
    });
  }

  it('0.1 s: graceful stop: m2 takes over Skew_Time(99) at 0.1 s (61.328 ms) after the goodbye arrives', () => {
    const cluster = seedCluster({ preempt: true, configure: v3(0.1) }).runFor(10_000);
    cluster.router('m1').stop();
    const stoppedAt = cluster.nowMs;
    const takeoverAt = untilMaster(cluster, 'm2');
    expect(takeoverAt - stoppedAt).toBeCloseTo(D + skewTimeV3Ms(99, 10), 9);
    // m3's Skew_Time(98) is 0.39 ms longer, less than the wire's 1 ms: it takes over too, and steps
    // down when m2's advert arrives.
    cluster.runFor(0.5);
    expect(cluster.masters()).toEqual(['m2', 'm3']);
    const resolvedAt = cluster.runUntil((c) => c.masters().length === 1, 1_000) as number;
    expect(resolvedAt - takeoverAt).toBeLessThanOrEqual(100);
    expect(cluster.masters()).toEqual(['m2']);
    expect(maxMastersDuring(cluster, 5_000)).toBe(1);
  });

  it('0.1 s: the two backups (99 and 98) time out 0.39 ms apart after a crash, both become MASTER, and within one advert interval only m2 is; the last GARP is m2\'s', () => {
    const cluster = seedCluster({ preempt: true, configure: v3(0.1) }).runFor(10_000);
    cluster.router('m1').crash();
    const m2At = untilMaster(cluster, 'm2');
    const m3At = cluster.runUntil((c) => c.router('m3').state === 'MASTER', 10) as number;
    // The race: m3 fires 0.39 ms after m2, before m2's advert (1 ms on the wire) reaches it.
    expect(m3At - m2At).toBeCloseTo(skewTimeV3Ms(98, 10) - skewTimeV3Ms(99, 10), 9);
    expect(cluster.masters()).toEqual(['m2', 'm3']);
    expect(cluster.arpOwner).toBe('m3'); // m3's become-MASTER burst came last so far
    const resolvedAt = cluster.runUntil((c) => c.masters().length === 1, 1_000) as number;
    expect(resolvedAt - m2At).toBeLessThanOrEqual(100);
    expect(cluster.masters()).toEqual(['m2']);
    expect(cluster.router('m3').transitions.at(-1)).toMatchObject({ to: 'BACKUP', reason: 'higher_priority_advert' });
    // m2 answered m3's adverts (its first, and its parting one) with GARP bursts after m3's last
    // burst, so clients are pointed at m2's MAC within one advert interval.
    cluster.runFor(100);
    const m3Last = cluster.router('m3').garps.at(-1)?.atMs as number;
    expect(cluster.router('m2').garps.filter((g) => g.why === 'lower_priority_advert' && g.atMs > m3Last).length).toBeGreaterThan(0);
    expect(cluster.arpOwner).toBe('m2');
    cluster.runFor(10_000);
    expect(cluster.masters()).toEqual(['m2']);
    expect(cluster.vipHolders()).toEqual(['m2']);
  });

  for (const [intervalCs, jitterMs, label] of [[10, 20, '0.1 s'], [1, 2, '0.01 s']] as const) {
    it(`${label}, 5 % loss and up to ${jitterMs} ms jitter for 10 minutes: no flapping; the VIP never leaves m1 and backup blips follow the loss model`, () => {
      const cluster = seedCluster({ preempt: true, configure: v3(intervalCs / 100), conditions: { lossRate: 0.05, jitterMs }, seed: 7 }).runFor(10_000);
      expect(cluster.masters()).toEqual(['m1']);
      const { blips, vipLeftM1, arpOwnerNotM1Ms } = watchM1(cluster, 10 * 60_000);
      // A backup times out only when the 3 adverts after one it heard are all lost (jitter below
      // I - Skew_Time changes nothing): (1 - p) p^3 per backup per interval, two backups.
      const intervals = (10 * 60_000) / (intervalCs * 10);
      const expected = 2 * intervals * 0.95 * 0.05 ** 3;
      // Poisson bounds with P < 0.1 % each side (1.4 expected at 0.1 s, 14.3 at 0.01 s).
      const [low, high] = intervalCs === 10 ? [0, 7] : [4, 28];
      expect(expected).toBeCloseTo(intervalCs === 10 ? 1.425 : 14.25, 3);
      expect(blips).toBeGreaterThanOrEqual(low);
      expect(blips).toBeLessThanOrEqual(high);
      expect(vipLeftM1).toBe(false);
      expect(cluster.router('m1').transitions.map((t) => t.to)).toEqual(['BACKUP', 'MASTER']);
      // Each blip's GARP is answered by m1's at once: clients point elsewhere for a few ms per blip at most.
      expect(arpOwnerNotM1Ms).toBeLessThanOrEqual(blips * (2 * intervalCs * 10 + 3 * jitterMs + 2));
      expect(cluster.masters()).toEqual(['m1']);
    });

    it(`${label}, 5 % loss and jitter: a crash is taken over no earlier than the floor after the last advert heard, and no later than the floor plus the losses`, () => {
      const cluster = seedCluster({ preempt: true, configure: v3(intervalCs / 100), conditions: { lossRate: 0.05, jitterMs }, seed: 11 }).runFor(10_000);
      for (let round = 0; round < 5; round++) {
        const master = cluster.masters()[0] as string;
        const survivors = ['m1', 'm2', 'm3'].filter((n) => n !== master && cluster.router(n).state === 'BACKUP');
        cluster.router(master).crash();
        const takeoverAt = cluster.runUntil((c) => c.masters().some((n) => survivors.includes(n)), 60_000) as number;
        const taker = cluster.masters().find((n) => survivors.includes(n)) as string;
        const heardAt = cluster.router(taker).machine.lastAdvertReceivedMs as number;
        expect(takeoverAt - heardAt).toBeCloseTo(MDI3(intervalCs, cluster.router(taker).effectivePriority), 9);
        cluster.runFor(5_000);
        expect(cluster.masters()).toHaveLength(1);
        cluster.router(master).powerOn();
        cluster.runFor(5_000);
      }
    });
  }

  it('a backup at 0.1 s under a master at 1 s learns the master\'s interval and stays BACKUP (times follow the master)', () => {
    const cluster = seedCluster({
      preempt: true,
      configure: (name, doc) => v3(name === 'm1' ? 1 : 0.1)(name, doc),
    }).runFor(20_000);
    expect(cluster.masters()).toEqual(['m1']);
    expect(cluster.router('m2').machine.masterAdverIntervalMs).toBe(1000);
    cluster.router('m1').crash();
    const crashedAt = cluster.nowMs;
    const takeoverAt = untilMaster(cluster, 'm2');
    expect(takeoverAt - crashedAt).toBeLessThanOrEqual(MDI3(100, 99) + D);
    expect(takeoverAt - crashedAt).toBeGreaterThan(MDI3(100, 99) - 1000);
  });
});
