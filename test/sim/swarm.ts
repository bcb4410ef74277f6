/**
 * Randomised runs (swarm testing, after TigerBeetle's VOPR): one seed decides the cluster (2..5
 * routers, VRRPv2 or VRRPv3 and the advert interval, priorities with ties and an address owner,
 * unicast or multicast, preempt / nopreempt / preempt_delay, trackers), the network (loss, delay, jitter, duplication, reordering, corruption) and
 * which faults are switched on and how often (partitions both ways and one way, crashes and reboots,
 * graceful stops and starts, link down, kube-apiserver failures, VIPs deleted behind our back).
 *
 * A run is a chaos phase followed by a calm tail: every partition healed, loss and corruption off,
 * links up. The checkers run after every step throughout; at the end of the tail the liveness
 * checker must have asserted its invariant (the run was quiet long enough), or the run fails.
 *
 * Used by swarm.test.ts (a fixed set of seeds in CI) and soak.ts (thousands, on demand).
 */
import { OWNER_PRIORITY } from '../../src/core/machine.js';
import { LivenessChecker, SyncGroupChecker } from './checkers.js';
import { address, Cluster, SimulationError } from './cluster.js';
import type { LinkConditions } from './network.js';
import { Prng } from './prng.js';
import { SIM_INTERFACE, type RouterSpec, type SimRouter } from './router.js';

export const FAULT_KINDS = [
  'partition',
  'one_way_partition',
  'heal',
  'crash',
  'power_on',
  'stop',
  'start',
  'link_down',
  'link_up',
  'kill_apiserver',
  'start_apiserver',
  'loss_burst',
  'delete_vips',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface SwarmRouterOptions {
  name: string;
  address: string;
  priority: number;
  initialState: 'MASTER' | 'BACKUP';
  nopreempt: boolean;
  preemptDelayMs: number;
  /** A `killall -0 kube-apiserver` script, when the router has one. */
  check: { weight: number; reverse: boolean; intervalMs: number; rise: number; fall: number } | undefined;
  startAtMs: number;
}

export interface SwarmOptions {
  seed: number;
  mode: 'unicast' | 'multicast';
  version: 2 | 3;
  /** Whole seconds in VRRPv2; 0.01..2 s in VRRPv3. */
  advertIntervalSec: number;
  /** VRRPv3: the nodes keep a PASS block anyway (loaded with a warning and ignored). */
  v3WithAuthentication: boolean;
  routers: SwarmRouterOptions[];
  /** Link conditions during the chaos phase. */
  chaos: LinkConditions;
  faults: FaultKind[];
  meanFaultGapMs: number;
  chaosMs: number;
  /**
   * A second instance (VRID 252, VIP 10.0.0.60, the same priority and settings, no check of its own)
   * in one vrrp_sync_group with VI_1 on every router (docs/protocol.md#sync-groups).
   */
  syncGroup: boolean;
}

export interface SwarmResult {
  seed: number;
  simulatedMs: number;
  steps: number;
  faultsApplied: number;
  transitions: number;
  packetsSent: number;
  livenessChecks: number;
  /** Steps at which the sync group checker asserted its converged invariant (0 without a group). */
  syncGroupChecks: number;
  finalMasters: string[];
}

/** Everything a seed decides, drawn up front so it can be printed before the run. */
export function deriveOptions(seed: number): SwarmOptions {
  const prng = new Prng(seed);
  const count = prng.int(2, 5);
  const mode = prng.chance(0.5) ? 'unicast' : 'multicast';
  const advertIntervalSec = prng.pick([1, 1, 1, 1, 2, 3]);

  const priorityStyle = prng.pick(['distinct', 'ties', 'owner', 'extremes'] as const);
  const priorities: number[] = [];
  for (let i = 0; i < count; i++) {
    if (priorityStyle === 'ties') priorities.push(prng.pick([100, 100, 99]));
    else if (priorityStyle === 'extremes') priorities.push(prng.pick([1, 2, 253, 254, 128]));
    else priorities.push(prng.int(1, 254));
  }
  if (priorityStyle === 'owner') priorities[prng.int(0, count - 1)] = OWNER_PRIORITY;

  const preemptStyle = prng.pick(['preempt', 'nopreempt', 'mixed'] as const);
  const usePreemptDelay = prng.chance(0.3);
  const routers: SwarmRouterOptions[] = [];
  for (let i = 0; i < count; i++) {
    const priority = priorities[i] as number;
    const nopreempt = preemptStyle === 'nopreempt' || (preemptStyle === 'mixed' && prng.chance(0.5));
    // nopreempt is only honoured with state BACKUP; sometimes configure it wrongly on purpose (keepalived clears it).
    const initialState = nopreempt ? (prng.chance(0.15) ? 'MASTER' : 'BACKUP') : prng.pick(['MASTER', 'BACKUP'] as const);
    let check: SwarmRouterOptions['check'];
    if (prng.chance(0.7)) {
      // The owner may not have weighted trackers (a configuration error); weight 0 means FAULT on failure.
      const weight = priority === OWNER_PRIORITY ? 0 : prng.pick([-20, -20, -60, -253, 10, 50, 0]);
      check = { weight, reverse: weight !== 0 && prng.chance(0.1), intervalMs: prng.pick([1000, 2000, 3000]), rise: prng.int(1, 3), fall: prng.int(1, 3) };
    }
    routers.push({
      name: `r${i + 1}`,
      address: `10.0.0.${51 + i}`,
      priority,
      initialState,
      nopreempt,
      preemptDelayMs: usePreemptDelay && prng.chance(0.7) ? prng.int(1, 20) * 1000 : 0,
      check,
      startAtMs: prng.chance(0.5) ? 0 : prng.int(0, 5000),
    });
  }

  const calm = prng.chance(0.2);
  const chaos: LinkConditions = {
    lossRate: calm ? 0 : prng.pick([0, 0.01, 0.05, 0.1, 0.2]),
    delayMs: prng.pick([0, 1, 1, 5, 20]),
    jitterMs: prng.pick([0, 0, 2, 20, 100]),
    duplicateRate: prng.pick([0, 0, 0.01, 0.05]),
    reorderRate: prng.pick([0, 0, 0.02, 0.1]),
    reorderExtraMs: prng.pick([10, 50, 300]),
    corruptRate: prng.pick([0, 0, 0.001, 0.01]),
  };

  const faults = FAULT_KINDS.filter(() => prng.chance(0.6));
  const meanFaultGapMs = prng.pick([2000, 5000, 10_000, 30_000]);
  let chaosMs = prng.int(60, 300) * 1000;

  // Drawn last, so a seed that draws VRRPv2 runs exactly the cluster it ran before VRRPv3 existed.
  const version = prng.chance(0.5) ? 3 : 2;
  let interval = advertIntervalSec;
  const v3WithAuthentication = version === 3 && prng.chance(0.3);
  if (version === 3) {
    interval = prng.pick([1, 0.5, 0.1, 0.1, 0.1, 0.05, 0.01, 0.01, 2]);
    // The network scales with the interval: a LAN that runs VRRP at 10 ms has sub-millisecond
    // jitter. (With jitter above 2 intervals + Skew_Time the backups time out between adverts
    // that are only late: VRRP cannot hold a master there, in any implementation.)
    const scale = Math.min(1, interval);
    chaos.delayMs = Math.round(chaos.delayMs * scale);
    chaos.jitterMs = Math.round(chaos.jitterMs * scale);
    chaos.reorderExtraMs = Math.max(1, Math.round(chaos.reorderExtraMs * scale));
    // A short interval packs as much protocol into a minute as VRRPv2 does into an hour.
    if (interval < 0.1) chaosMs = Math.min(chaosMs, 60_000);
  }
  // Drawn after everything else, so older seeds keep the cluster they had.
  const syncGroup = prng.chance(0.3);
  return {
    seed,
    mode,
    version,
    advertIntervalSec: interval,
    v3WithAuthentication,
    routers,
    chaos,
    faults,
    meanFaultGapMs,
    chaosMs,
    syncGroup,
  };
}

/** A router's configuration as the data of the vrrpd YAML a user would write for it; the real loader validates it. */
function routerSpec(options: SwarmOptions, router: SwarmRouterOptions): RouterSpec {
  const check = router.check;
  const instance: Record<string, unknown> = {
    state: router.initialState,
    interface: SIM_INTERFACE,
    virtual_router_id: 251,
    priority: router.priority,
    ...(options.version === 3 ? { version: 3 } : {}),
    advert_int: options.advertIntervalSec,
    ...(router.nopreempt ? { nopreempt: true } : {}),
    ...(router.preemptDelayMs > 0 ? { preempt_delay: router.preemptDelayMs / 1000 } : {}),
    ...(options.version === 2 || options.v3WithAuthentication ? { authentication: { auth_type: 'PASS', auth_pass: '123456' } } : {}),
    ...(options.mode === 'unicast'
      ? { unicast_src_ip: router.address, unicast_peer: options.routers.filter((r) => r !== router).map((r) => r.address) }
      : {}),
    virtual_ipaddress: [`10.0.0.50 dev ${SIM_INTERFACE}`],
    ...(check !== undefined ? { track_script: ['check'] } : {}),
  };
  const file = {
    ...(check !== undefined
      ? {
          vrrp_script: {
            check: {
              script: 'killall -0 kube-apiserver',
              interval: check.intervalMs / 1000,
              weight: check.weight,
              ...(check.reverse ? { reverse: true } : {}),
              rise: check.rise,
              fall: check.fall,
            },
          },
        }
      : {}),
    vrrp_instance: options.syncGroup
      ? { VI_1: instance, VI_2: { ...instance, virtual_router_id: 252, virtual_ipaddress: [`10.0.0.60 dev ${SIM_INTERFACE}`], track_script: [] } }
      : { VI_1: instance },
    ...(options.syncGroup ? { vrrp_sync_group: { VG_1: { group: ['VI_1', 'VI_2'] } } } : {}),
  };
  return { name: router.name, address: router.address, config: { fileName: `swarm-${options.seed}-${router.name}.yaml`, data: file } };
}

export function replayCommands(seed: number): string {
  return `VRRPD_SIM_SEED=${seed} npx vitest run test/sim/swarm.test.ts   or   node test/sim/soak.mjs --seed ${seed}`;
}

export function describeOptions(options: SwarmOptions): string {
  const routers = options.routers
    .map((r) => {
      const check = r.check === undefined ? '' : ` check(w${r.check.weight}${r.check.reverse ? 'r' : ''},${r.check.intervalMs}ms,rise${r.check.rise},fall${r.check.fall})`;
      return `${r.name}@${r.address} p${r.priority} ${r.initialState}${r.nopreempt ? ' nopreempt' : ''}${r.preemptDelayMs > 0 ? ` preempt_delay ${r.preemptDelayMs}` : ''}${check} start@${r.startAtMs}`;
    })
    .join('; ');
  return `seed ${options.seed}: ${options.routers.length} routers, ${options.mode}, VRRPv${options.version}${options.v3WithAuthentication ? ' (with an ignored PASS block)' : ''}, advert_int ${options.advertIntervalSec}s${options.syncGroup ? ', sync group VI_1+VI_2' : ''}, chaos ${options.chaosMs} ms, faults every ~${options.meanFaultGapMs} ms [${options.faults.join(',')}], net ${JSON.stringify(options.chaos)} | ${routers}`;
}

export interface SwarmHooks {
  /** Edit a router's config data before the run (the harness tests use it to prove failures are reported with their replay command). */
  configure?: (name: string, file: { vrrp_instance: { VI_1: Record<string, unknown> } }) => void;
}

/** Run one seed; throws SimulationError (with the options and the replay command) on any violation. */
export function runSwarm(options: SwarmOptions, hooks: SwarmHooks = {}): SwarmResult {
  const faultPrng = new Prng(options.seed).fork().fork(); // independent of the option draws
  const cluster = new Cluster({
    seed: options.seed,
    routers: options.routers.map((r) => {
      const spec = routerSpec(options, r);
      if (hooks.configure !== undefined && 'data' in spec.config) hooks.configure(r.name, spec.config.data as { vrrp_instance: { VI_1: Record<string, unknown> } });
      return spec;
    }),
    conditions: options.chaos,
    // A healthy run takes under 10 steps per simulated second at 1 s adverts (3000 seeds measured);
    // 1000 per second per advert interval (an event every millisecond, for the whole run, at 1 s)
    // means something runs away.
    maxSteps: Math.ceil((options.chaosMs + 600_000) / 1000) * Math.ceil(1000 / Math.min(1, options.advertIntervalSec)),
    traceLines: 80,
  });
  let faultsApplied = 0;
  try {
    for (const router of options.routers) cluster.at(router.startAtMs, `start ${router.name}`, () => cluster.router(router.name).start());

    const chaosEndMs = options.chaosMs;
    const scheduleNextFault = (): void => {
      if (options.faults.length === 0) return;
      const atMs = cluster.nowMs + Math.max(1, Math.round(faultPrng.exponential(options.meanFaultGapMs)));
      if (atMs >= chaosEndMs) return;
      cluster.at(atMs, 'fault', () => {
        if (applyFault(cluster, options, faultPrng.pick(options.faults), faultPrng)) faultsApplied++;
        scheduleNextFault();
      });
    };
    cluster.at(Math.max(...options.routers.map((r) => r.startAtMs)), 'faults begin', scheduleNextFault);
    cluster.runFor(chaosEndMs);

    // The calm tail: heal the network and the links, bring most things back.
    cluster.trace(`${cluster.nowMs} --- calm tail ---`);
    cluster.heal();
    cluster.setConditions({ lossRate: 0, corruptRate: 0 });
    for (const router of cluster.routers) {
      if (!router.linkUp) router.restoreLink();
      if (!router.hostUp && faultPrng.chance(0.7)) router.powerOn();
      else if (router.hostUp && !router.running && faultPrng.chance(0.7)) router.start();
      if (!router.apiserverAlive && faultPrng.chance(0.7)) router.startApiserver();
    }
    const trackerSettleMs = Math.max(0, ...options.routers.map((r) => (r.check === undefined ? 0 : r.check.intervalMs * Math.max(r.check.rise, r.check.fall))));
    const tailMs = trackerSettleMs + LivenessChecker.boundMs(cluster.routers, cluster.network) + 2 * options.advertIntervalSec * 1000;
    cluster.runFor(tailMs);
    const liveness = cluster.liveness as LivenessChecker;
    const violation = liveness.check(cluster);
    if (violation !== undefined) cluster.fail(`liveness violated at the end: ${violation}`);
    if (liveness.lastCheckedAtMs !== cluster.nowMs) cluster.fail(`liveness was not asserted at the end of the calm tail (last disturbance at ${cluster.lastDisturbanceMs})`);
  } catch (error) {
    if (error instanceof SimulationError) {
      error.message = `${error.message}\n${describeOptions(options)}\nreplay: ${replayCommands(options.seed)}`;
    }
    throw error;
  }
  return {
    seed: options.seed,
    simulatedMs: cluster.nowMs,
    steps: cluster.steps,
    faultsApplied,
    transitions: cluster.routers.reduce((n, r) => n + r.transitions.length, 0),
    packetsSent: cluster.network.counters.sent,
    livenessChecks: cluster.liveness?.checks ?? 0,
    syncGroupChecks: cluster.checkers.find((c): c is SyncGroupChecker => c instanceof SyncGroupChecker)?.convergedChecks ?? 0,
    finalMasters: cluster.masters(),
  };
}

function pickRouter(prng: Prng, routers: readonly SimRouter[], ok: (r: SimRouter) => boolean): SimRouter | undefined {
  const candidates = routers.filter(ok);
  return candidates.length === 0 ? undefined : prng.pick(candidates);
}

/** Apply one fault if it makes sense now; false when there was nothing to apply it to. */
function applyFault(cluster: Cluster, options: SwarmOptions, kind: FaultKind, prng: Prng): boolean {
  const routers = cluster.routers;
  const names = routers.map((r) => r.name);
  switch (kind) {
    case 'partition': {
      const shuffled = prng.shuffle(names);
      const cut = prng.int(1, names.length - 1);
      cluster.partition(shuffled.slice(0, cut), shuffled.slice(cut));
      return true;
    }
    case 'one_way_partition': {
      const shuffled = prng.shuffle(names);
      const cut = prng.int(1, names.length - 1);
      cluster.partitionOneWay(shuffled.slice(0, cut), shuffled.slice(cut, cut + prng.int(1, names.length - cut)));
      return true;
    }
    case 'heal':
      cluster.heal();
      return true;
    case 'crash': {
      const router = pickRouter(prng, routers, (r) => r.hostUp);
      router?.crash();
      return router !== undefined;
    }
    case 'power_on': {
      const router = pickRouter(prng, routers, (r) => !r.hostUp);
      router?.powerOn();
      return router !== undefined;
    }
    case 'stop': {
      const router = pickRouter(prng, routers, (r) => r.running);
      router?.stop();
      return router !== undefined;
    }
    case 'start': {
      const router = pickRouter(prng, routers, (r) => r.hostUp && !r.running);
      router?.start();
      return router !== undefined;
    }
    case 'link_down': {
      const router = pickRouter(prng, routers, (r) => r.hostUp && r.linkUp);
      router?.linkDown();
      return router !== undefined;
    }
    case 'link_up': {
      const router = pickRouter(prng, routers, (r) => !r.linkUp);
      router?.restoreLink();
      return router !== undefined;
    }
    case 'kill_apiserver': {
      const router = pickRouter(prng, routers, (r) => r.hostUp && r.apiserverAlive);
      router?.killApiserver();
      return router !== undefined;
    }
    case 'start_apiserver': {
      const router = pickRouter(prng, routers, (r) => r.hostUp && !r.apiserverAlive);
      router?.startApiserver();
      return router !== undefined;
    }
    case 'loss_burst': {
      const lossRate = prng.pick([0.3, 0.5, 0.9, 1]);
      cluster.setConditions({ lossRate });
      cluster.at(cluster.nowMs + prng.int(1, 15) * 1000, 'loss burst ends', () => {
        if (cluster.nowMs < options.chaosMs) cluster.setConditions({ lossRate: options.chaos.lossRate }); // the calm tail has its own
      });
      return true;
    }
    case 'delete_vips': {
      const router = pickRouter(prng, routers, (r) => r.holdsVips);
      router?.deleteVipsBehindBack();
      return router !== undefined;
    }
  }
}
