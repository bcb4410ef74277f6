/**
 * Invariants the simulator checks after every step. Each bound below is derived from the protocol,
 * not tuned to pass; the derivation is written next to it.
 *
 * Notation: I = advert interval, D = the longest a packet can spend on the wire (network.maxDelayBoundMs),
 * MDI = Master_Down_Interval, PD = the largest preempt_delay in the cluster.
 */
import { formatIpv4 } from '../../src/core/ip.js';
import { masterDownIntervalFor } from '../../src/core/timers.js';
import type { Network } from './network.js';
import type { SimInstance, SimRouter } from './router.js';

/** What the checkers can see of a cluster. */
export interface ClusterView {
  readonly nowMs: number;
  readonly routers: readonly SimRouter[];
  readonly network: Network;
  /** The latest change of anything: network fault or change, router start/stop/crash/link, priority change. */
  readonly lastDisturbanceMs: number;
}

export interface Checker {
  readonly name: string;
  /** A description of the violation, or undefined when the invariant holds. */
  check(view: ClusterView): string | undefined;
}

function advertIntervalMs(routers: readonly SimRouter[]): number {
  let longest = 0;
  for (const router of routers) if (router.maxAdvertIntervalMs > longest) longest = router.maxAdvertIntervalMs;
  return longest;
}

/**
 * The longest Master_Down_Interval any backup can have: priority 1 at the cluster's longest interval
 * (a VRRPv3 backup learns the master's, which may be the longest), in the version each node speaks.
 */
function longestMasterDownMs(routers: readonly SimRouter[]): number {
  const intervalCs = advertIntervalMs(routers) / 10;
  let longest = 0;
  for (const router of routers) {
    for (const spec of router.plan.instances) longest = Math.max(longest, masterDownIntervalFor(spec.core.version, intervalCs, 1));
  }
  return longest;
}

function mutuallyConnected(network: Network, a: SimRouter, b: SimRouter): boolean {
  return !network.link(a.address, b.address).blocked && !network.link(b.address, a.address).blocked;
}

function describe(instance: SimInstance): string {
  return `${instance.router.name}(${formatIpv4(instance.router.address)}, ${instance.name} priority ${instance.machine.effectivePriority})`;
}

/** The running instances of routers whose host and link are up, grouped by VRID. */
function byVrid(routers: readonly SimRouter[], include: (instance: SimInstance) => boolean): Map<number, SimInstance[]> {
  const groups = new Map<number, SimInstance[]>();
  for (const router of routers) {
    if (!router.eligible) continue;
    for (const instance of router.instances) {
      if (!include(instance)) continue;
      const vrid = instance.machine.config.virtualRouterId;
      groups.set(vrid, [...(groups.get(vrid) ?? []), instance]);
    }
  }
  return groups;
}

/**
 * Safety: two MASTERs that can hear each other must not stay MASTER longer than I + D.
 *
 * Why I + D: take s = the latest of (either became MASTER, either's effective priority changed, either
 * direction of the link between them last dropped a packet or changed state). After s the priorities
 * are fixed, so one of the two is strictly higher (priority, then address: RFC 3768 6.4.3). Its
 * Adver_Timer is never more than I away, so it sends an advert by s + I, which arrives by s + I + D
 * (the link has lost nothing since s, or s would be later), and the other steps down on receipt.
 * A MASTER that hears a lower priority only answers, so that path is never slower. Pairs that
 * cannot hear each other (partitioned, one way or both) are allowed to be dual MASTER: that is VRRP.
 */
export class SafetyChecker implements Checker {
  readonly name = 'safety';

  check(view: ClusterView): string | undefined {
    let masterCount = 0;
    for (const router of view.routers) for (const instance of router.instances) if (instance.machine.state === 'MASTER') masterCount++;
    if (masterCount < 2) return undefined;
    const windowMs = advertIntervalMs(view.routers) + view.network.maxDelayBoundMs;
    for (const [vrid, masters] of byVrid(view.routers, (i) => i.machine.state === 'MASTER')) {
      for (let i = 0; i < masters.length; i++) {
        for (let j = i + 1; j < masters.length; j++) {
          const a = masters[i] as SimInstance;
          const b = masters[j] as SimInstance;
          if (!mutuallyConnected(view.network, a.router, b.router)) continue;
          const since = Math.max(
            a.becameMasterAtMs,
            b.becameMasterAtMs,
            a.priorityChangedAtMs,
            b.priorityChangedAtMs,
            view.network.link(a.router.address, b.router.address).cleanSinceMs,
            view.network.link(b.router.address, a.router.address).cleanSinceMs,
          );
          if (view.nowMs > since + windowMs) {
            return `dual MASTER for VRID ${vrid}: ${describe(a)} and ${describe(b)} can hear each other and are both MASTER ${view.nowMs - since} ms after the last change at ${since} (allowed: I + D = ${windowMs} ms)`;
          }
        }
      }
    }
    return undefined;
  }
}

/** The VIP is on a host if and only if that host's instance is MASTER: add/remove are done in the same step as the transition. */
export class VipChecker implements Checker {
  readonly name = 'vip';

  check(view: ClusterView): string | undefined {
    for (const router of view.routers) {
      if (!router.running) {
        if (router.holdsVips) return `${router.name} holds the VIPs in state ${router.state}`;
        continue;
      }
      for (const instance of router.instances) {
        const master = instance.machine.state === 'MASTER';
        if (instance.holdsVips && !master) return `${router.name} holds the VIPs of ${instance.name} in state ${instance.machine.state}`;
        if (master && !instance.holdsVips) return `${router.name} is MASTER of ${instance.name} without its VIPs`;
      }
    }
    return undefined;
  }
}

/**
 * Liveness: once nothing has changed for `boundMs`, and every candidate hears every other, there is
 * exactly one MASTER, and no BACKUP that preempts has a higher effective priority than it (such a
 * backup ignores the master's adverts, so it would take over: the state would not be stable).
 * With nopreempt any single master is legitimate; equal priorities do not preempt.
 *
 * The bound, from the quiet point q (the last disturbance):
 *   D          packets sent before q are still arriving (e.g. the last adverts of a crashed master);
 *   + MDI(1)   if no MASTER is left, the first Master_Down timer runs out (priority 1 is the longest)
 *              and some backup, not necessarily the best one, becomes MASTER;
 *   + I + D    the first advert that shows a preempting backup a lower MASTER arrives (at once from a
 *              new MASTER, within I after a priority change);
 *   + PD       a preempt_delay started by that first lower advert runs out;
 *   + MDI(1)   the preempting backup's Master_Down runs out (it now ignores the lower adverts);
 *   + D        its first advert as MASTER reaches the old master, which steps down;
 *   + I + D    slack for one more hand-over in a chain: a lower backup can fire a few ms earlier
 *              than a higher one (jitter exceeds the skew difference) and is then displaced by it.
 *   = PD + 2 MDI(1) + 2I + 4D.
 * (Seed 134583 of the soak is the case that needs both MDIs: the owner crashes, the lowest router
 * takes over after its Master_Down, and only then does a preempt_delay-ed higher one start waiting.)
 */
export class LivenessChecker implements Checker {
  readonly name = 'liveness';
  /** How many steps the invariant was actually asserted at (so a test can prove it was not vacuous). */
  checks = 0;
  lastCheckedAtMs: number | undefined;

  static boundMs(routers: readonly SimRouter[], network: Network): number {
    const intervalMs = advertIntervalMs(routers);
    let preemptDelayMs = 0;
    for (const router of routers) if (router.maxPreemptDelayMs > preemptDelayMs) preemptDelayMs = router.maxPreemptDelayMs;
    return preemptDelayMs + 2 * longestMasterDownMs(routers) + 2 * intervalMs + 4 * network.maxDelayBoundMs;
  }

  check(view: ClusterView): string | undefined {
    const boundMs = LivenessChecker.boundMs(view.routers, view.network);
    if (view.nowMs - view.lastDisturbanceMs <= boundMs) return undefined;
    const routers = view.routers.filter((r) => r.eligible && r.instances.some((i) => i.machine.state !== 'FAULT'));
    for (let i = 0; i < routers.length; i++) {
      for (let j = i + 1; j < routers.length; j++) {
        if (!mutuallyConnected(view.network, routers[i] as SimRouter, routers[j] as SimRouter)) return undefined;
      }
    }
    this.checks++;
    this.lastCheckedAtMs = view.nowMs;
    const quietMs = view.nowMs - view.lastDisturbanceMs;
    for (const [vrid, candidates] of byVrid(view.routers, (i) => i.machine.state !== 'FAULT')) {
      const masters = candidates.filter((i) => i.machine.state === 'MASTER');
      if (masters.length !== 1) {
        return `VRID ${vrid}: ${masters.length} MASTERs (${masters.map(describe).join(', ') || 'none'}) ${quietMs} ms after the last disturbance (bound ${boundMs} ms); states: ${candidates.map((i) => `${i.router.name}=${i.machine.state}`).join(' ')}`;
      }
      const master = masters[0] as SimInstance;
      for (const backup of candidates) {
        if (backup === master || !backup.machine.preempt) continue;
        if (backup.machine.effectivePriority > master.machine.effectivePriority) {
          return `${describe(backup)} preempts but is still BACKUP under ${describe(master)} ${quietMs} ms after the last disturbance (bound ${boundMs} ms)`;
        }
      }
    }
    return undefined;
  }
}

/**
 * FAULT exactly while a fault cause holds (link down, a failing weight-0 tracker). Entering and
 * leaving FAULT happen in the call that changes the cause, so there is no window. Without this, a
 * router stuck in FAULT would only look "not a candidate" to the liveness checker.
 */
export class FaultChecker implements Checker {
  readonly name = 'fault';

  check(view: ClusterView): string | undefined {
    for (const router of view.routers) {
      for (const instance of router.instances) {
        const causes = instance.machine.faultCauses;
        const inFault = instance.machine.state === 'FAULT';
        if (inFault && causes.length === 0) return `${router.name} ${instance.name} is in FAULT with no fault cause`;
        if (!inFault && causes.length > 0) return `${router.name} ${instance.name} is ${instance.machine.state} although ${causes.join(', ')} holds it in FAULT`;
      }
    }
    return undefined;
  }
}

/**
 * No advert storm: a livelock (two MASTERs answering each other for ever) keeps the clock moving and,
 * under loss, can hide from the safety window, so it is caught by rate instead.
 *
 * Healthy bound per router per advert interval: one periodic advert, one on becoming MASTER, and one
 * answer per advert heard from a lower MASTER (or a priority 0). An answer only provokes answers from
 * MASTERs above the answerer (the ones below step down), so answer chains climb the priority order and
 * one periodic advert causes at most 2^(n-1) answers in all; duplication can double each. 2^(n+2) per
 * interval is therefore generous for n routers, and a storm at 1 ms round trips exceeds it at once.
 */
export class StormChecker implements Checker {
  readonly name = 'storm';

  check(view: ClusterView): string | undefined {
    const intervalMs = advertIntervalMs(view.routers);
    const limit = 2 ** (view.routers.length + 2);
    for (const router of view.routers) {
      const adverts = router.adverts;
      let total = 0;
      for (let i = adverts.length - 1; i >= 0 && (adverts[i] as { atMs: number }).atMs > view.nowMs - intervalMs; i--) total++;
      if (total <= limit) continue; // the limit is per instance, so no instance can be over it
      const recent = new Map<string, number>();
      for (let i = adverts.length - 1; i >= 0; i--) {
        const advert = adverts[i] as { atMs: number; instance: string };
        if (advert.atMs <= view.nowMs - intervalMs) break;
        const count = (recent.get(advert.instance) ?? 0) + 1;
        recent.set(advert.instance, count);
        if (count > limit) return `${router.name} ${advert.instance} sent ${count} adverts in the last ${intervalMs} ms (limit ${limit}): an advert storm`;
      }
    }
    return undefined;
  }
}

/**
 * Sync groups (docs/protocol.md#sync-groups), two invariants:
 * - at every step, on every router: a member with a fault of its own holds every member of its group
 *   in FAULT (each carries the group's cause), and the group's cause is never there without one;
 * - once converged (quiet for the liveness bound, every candidate hearing every other): the members
 *   of a group are MASTER on one router at most, and there all of them are MASTER.
 */
export class SyncGroupChecker implements Checker {
  readonly name = 'sync_group';
  /** How many steps the converged invariant was asserted at (a test can prove it was not vacuous). */
  convergedChecks = 0;

  check(view: ClusterView): string | undefined {
    for (const router of view.routers) {
      if (!router.running) continue;
      for (const group of router.plan.syncGroups ?? []) {
        const members = router.instances.filter((i) => group.members.includes(i.name));
        const cause = `sync_group:${group.name}`;
        const own = members.filter((i) => i.machine.faultCauses.some((c) => c !== cause));
        for (const member of members) {
          const held = member.machine.faultCauses.includes(cause);
          if (own.length > 0 && !held && !own.includes(member)) return `${router.name} ${member.name} is ${member.machine.state} although ${own.map((i) => i.name).join(', ')} of sync group ${group.name} is in FAULT`;
          if (own.length === 0 && held) return `${router.name} ${member.name} is held in FAULT by sync group ${group.name} although no member has a fault of its own`;
        }
      }
    }
    const boundMs = LivenessChecker.boundMs(view.routers, view.network);
    if (view.nowMs - view.lastDisturbanceMs <= boundMs) return undefined;
    const routers = view.routers.filter((r) => r.eligible && r.instances.some((i) => i.machine.state !== 'FAULT'));
    for (let i = 0; i < routers.length; i++) {
      for (let j = i + 1; j < routers.length; j++) {
        if (!mutuallyConnected(view.network, routers[i] as SimRouter, routers[j] as SimRouter)) return undefined;
      }
    }
    const quietMs = view.nowMs - view.lastDisturbanceMs;
    const names = new Set(view.routers.flatMap((r) => (r.plan.syncGroups ?? []).map((g) => g.name)));
    if (names.size > 0) this.convergedChecks++;
    for (const name of names) {
      const holders: string[] = [];
      for (const router of view.routers) {
        if (!router.eligible) continue;
        const group = (router.plan.syncGroups ?? []).find((g) => g.name === name);
        if (group === undefined) continue;
        const members = router.instances.filter((i) => group.members.includes(i.name));
        const masters = members.filter((i) => i.machine.state === 'MASTER');
        if (masters.length > 0 && masters.length < members.length) {
          return `${router.name}: sync group ${name} split on one router ${quietMs} ms after the last disturbance: ${members.map((i) => `${i.name}=${i.machine.state}`).join(' ')}`;
        }
        if (masters.length > 0) holders.push(router.name);
      }
      if (holders.length > 1) return `sync group ${name} is MASTER on ${holders.join(' and ')} ${quietMs} ms after the last disturbance (bound ${boundMs} ms)`;
    }
    return undefined;
  }
}

export function defaultCheckers(): Checker[] {
  return [new SafetyChecker(), new VipChecker(), new LivenessChecker(), new FaultChecker(), new StormChecker(), new SyncGroupChecker()];
}
