/**
 * A dress rehearsal of a takeover, before the real engine starts.
 *
 * V8 compiles a function the first time it runs. A BACKUP runs its receive path every advert, but
 * the takeover path (Master_Down firing, becoming MASTER, building and checksumming the advert
 * for each peer, the VIP and GARP commands, the transition's log line and notify, status) runs for
 * the first time at the moment it matters most: after the master died. Measured in the failover
 * benchmark at VRRPv3 advert_int 0.1 (test/bench/failover.ts), a backup that had never been
 * MASTER sent its first advert 6 ms after its deadline (median of 6), one that had been MASTER
 * once 2 ms after it. The rehearsal runs that path once in a throwaway engine whose commands are
 * thrown away: the engine is sans-IO, so nothing reaches the host, and the real engine starts
 * from scratch afterwards.
 */
import { Engine, type DaemonPlan, type HostFacts, type InstanceSpec } from './engine.js';

/**
 * Firings after which the rehearsal gives up (a plan whose instances cannot become MASTER). A
 * VRRPv3 instance at 0.01 s fires about 360 times before a VRRPv2 one's Master_Down; each firing
 * costs microseconds.
 */
const MAX_FIRINGS = 2_000;
/** A stand-in source address for an interface without one (the rehearsal sends nothing). */
const PLACEHOLDER_SOURCE = 0x0a000001;

/**
 * One instance per code path: VRRPv2 or VRRPv3, unicast or multicast. Trackers are dropped (a
 * failing check would keep the rehearsal in FAULT) and the owner priority too (255 skips Master_Down).
 */
export function rehearsalPlan(plan: DaemonPlan): DaemonPlan {
  const kinds = new Set<string>();
  const instances: InstanceSpec[] = [];
  for (const spec of plan.instances) {
    const kind = `${spec.core.version}/${spec.core.unicastPeers.length > 0 ? 'unicast' : 'multicast'}`;
    if (kinds.has(kind)) continue;
    kinds.add(kind);
    instances.push({ ...spec, core: { ...spec.core, trackers: [], priority: Math.min(spec.core.priority, 254), preemptDelayMs: 0 } });
  }
  return { instances, checks: [] };
}

/**
 * Run the rehearsal; returns how many of its instances became MASTER (0 when the plan or the host
 * facts keep them out: a rehearsal proves nothing, it only warms code up, so it never throws).
 */
export function rehearseTakeover(plan: DaemonPlan, facts: HostFacts): number {
  const rehearsal = rehearsalPlan(plan);
  if (rehearsal.instances.length === 0) return 0;
  const engine = new Engine();
  const drain = (nowMs: number): void => {
    while (engine.pollCommand(nowMs) !== undefined);
  };
  try {
    const interfaces = new Map([...facts.interfaces].map(([name, f]) => [name, { address: f.address ?? PLACEHOLDER_SOURCE, up: true, exists: true }]));
    engine.start(0, rehearsal, { interfaces, capabilities: undefined });
    drain(0);
    let masters = 0;
    let nowMs = 0;
    let lastTakeover: number | undefined;
    for (let firing = 0; firing < MAX_FIRINGS; firing++) {
      const deadline = engine.nextDeadline();
      if (!Number.isFinite(deadline)) break;
      nowMs = deadline;
      engine.handleTimer(nowMs, deadline);
      drain(nowMs);
      masters = rehearsal.instances.filter((spec) => engine.machine(spec.name)?.state === 'MASTER').length;
      // Every instance MASTER, and the last one's periodic advert after its takeover.
      if (masters === rehearsal.instances.length) {
        if (lastTakeover === undefined) lastTakeover = firing;
        else if (firing > lastTakeover) break;
      }
    }
    engine.status(nowMs, () => '');
    engine.shutdown(nowMs);
    drain(nowMs);
    return masters;
  } catch {
    return 0;
  }
}
