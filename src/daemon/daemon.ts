/**
 * The daemon: wires one VrrpMachine per configured instance to the host.
 *
 * - One transport per interface, shared by every instance on it; packets are dispatched by VRID.
 * - One timer for the whole daemon, armed at the earliest nextDeadline() of all machines after
 *   every input.
 * - Actions are executed in order. Adverts go out synchronously; VIP changes and GARP bursts go
 *   through a per-instance queue so that a GARP never precedes the address it announces and a
 *   removal never overtakes an add. With nothing in flight the queue runs its work at once, so a
 *   new MASTER's VIP (rtnetlink) and GARP leave in the same tick as its first advert.
 */
import { peekVirtualRouterId } from '../core/codec.js';
import { formatIpv4, VRRP_MULTICAST_GROUP, type Ipv4 } from '../core/ip.js';
import { VrrpMachine } from '../core/machine.js';
import type { Action, DropReason, InstanceConfig } from '../core/types.js';
import { TIMER_EARLY_TOLERANCE_MS, type Scheduler } from '../io/clock.js';
import { toIoError } from '../io/errors.js';
import type { DaemonHost, Transport, VipSpec } from './host.js';
import { FailureLog, RateLimitedLog, type Logger } from './logging.js';
import { clearedBySocketOpen, faultCauseOf, isPermissionError, permissionCause, RETEST_MAX_MS, RETEST_MS, RETESTED, startFaults, type HostMeans } from './means.js';
import type { DaemonStatus, InstanceStatus } from './status.js';

/** Everything the daemon needs to run one instance; built from the validated config (plan.ts). */
export interface InstanceSpec {
  name: string;
  interfaceName: string;
  /**
   * sourceAddress 0 means "the interface's primary address", resolved at start. Trackers named
   * `interface:NAME` are driven by the link watcher (the primary interface is one of them unless
   * dont_track_primary).
   */
  core: InstanceConfig;
  vips: VipSpec[];
}

const INTERFACE_TRACKER_PREFIX = 'interface:';
const NO_SOURCE_ADDRESS = 'no_source_address';

function trackedInterfaces(core: InstanceConfig): string[] {
  return core.trackers.filter((t) => t.name.startsWith(INTERFACE_TRACKER_PREFIX)).map((t) => t.name.slice(INTERFACE_TRACKER_PREFIX.length));
}

/** Limits: keepalived allows 255 VRIDs per interface; so do we, per daemon. */
export const MAX_INSTANCES = 255;
const DROP_LOG_WINDOW_MS = 10_000;
/** A timer this late means the event loop stalled (log it; the guard works at any lateness). */
const STALL_WARN_MS = 100;
/** A timer less late than this decides at once; later ones first read what waits in the sockets. */
const ON_TIME_MS = 1;
/** event_loop_lag_ms covers the last one to two of these. */
const LAG_WINDOW_MS = 60_000;

export interface ReloadSummary {
  unchanged: string[];
  changed: string[];
  added: string[];
  removed: string[];
}

function checkSpecs(specs: readonly InstanceSpec[]): void {
  if (specs.length > MAX_INSTANCES) throw new Error(`at most ${MAX_INSTANCES} instances, got ${specs.length}`);
  const seen = new Set<string>();
  for (const spec of specs) {
    const key = `${spec.interfaceName}/${spec.core.virtualRouterId}`;
    if (seen.has(key)) throw new Error(`VRID ${spec.core.virtualRouterId} is used twice on ${spec.interfaceName}`);
    seen.add(key);
  }
}

function describeVip(vip: VipSpec): string {
  return `${formatIpv4(vip.address)}/${vip.prefixLength} dev ${vip.ifname}`;
}

function sameVip(a: VipSpec, b: VipSpec): boolean {
  return describeVip(a) === describeVip(b) && a.label === b.label && a.broadcast === b.broadcast;
}

/** Structural equality of two specs (Uint8Array auth data compared by content). */
export function sameSpec(a: InstanceSpec, b: InstanceSpec): boolean {
  const canonical = (spec: InstanceSpec) => JSON.stringify(spec, (_key, value: unknown) => (value instanceof Uint8Array ? Array.from(value) : value));
  return canonical(a) === canonical(b);
}

interface InterfaceState {
  name: string;
  transport: Transport;
  multicast: boolean;
  byVrid: Map<number, InstanceRuntime>;
  /** Packets no instance could take, by reason (too_short, unknown_vrid). */
  dropped: Partial<Record<DropReason, number>>;
}

/** A host operation whose refusal can put the instance in FAULT (means.ts). */
type MeansOperation = 'vip_add' | 'garp';

class InstanceRuntime {
  readonly machine: VrrpMachine;
  readonly log: Logger;
  /** Transitions so far, keyed `from>to>reason`. */
  readonly transitionCounts = new Map<string, number>();
  /**
   * Fault causes found while a batch of actions was being executed, applied right after it (the
   * machine's outputs are not re-entered); a GARP queued in the same batch is held back meanwhile.
   */
  readonly pendingFaults = new Map<string, boolean>();
  /** When this instance's permission faults are next re-tested; Infinity when it has none. */
  retestAtMs = Number.POSITIVE_INFINITY;
  retestIntervalMs = RETEST_MS;
  /** Causes a re-test cleared: if one comes back, the re-test was not proof, so wait longer. */
  readonly clearedByRetest = new Set<string>();
  /** VIP changes and GARP bursts, strictly in order. */
  private queue: Promise<void> = Promise.resolve();
  /** Operations started but not finished; 0 means the next one may run at once. */
  private pending = 0;
  private readonly destinations: readonly Ipv4[];

  constructor(
    public spec: InstanceSpec,
    core: InstanceConfig,
    parentLog: Logger,
    /** Where a failed VIP change or GARP goes: logged, and maybe a FAULT (Daemon.handleFailure). */
    private readonly onFailure: (what: string, error: unknown, means: MeansOperation | undefined) => void,
  ) {
    this.machine = new VrrpMachine(core);
    this.log = parentLog.child({ instance: spec.name, vrid: core.virtualRouterId, interface: spec.interfaceName });
    this.destinations = core.unicastPeers.length > 0 ? core.unicastPeers : [VRRP_MULTICAST_GROUP];
  }

  get core(): InstanceConfig {
    return this.machine.config;
  }

  /**
   * Run work after everything queued before it. With nothing in flight it runs at once, in this
   * tick: a new MASTER's VIP add (rtnetlink, synchronous) and GARP then leave right behind its
   * first advert, before anything is logged. Work that returns a promise (the `ip` fallback)
   * holds back whatever is queued after it until it settles.
   */
  enqueue(what: string, work: () => Promise<void> | void, means?: MeansOperation): void {
    const fail = (err: unknown): void => {
      this.onFailure(what, err, means);
    };
    const settle = (): void => {
      this.pending--;
    };
    if (this.pending === 0) {
      let result: Promise<void> | void;
      try {
        result = work();
      } catch (err) {
        fail(err);
        return;
      }
      if (result === undefined) return;
      this.pending++;
      this.queue = result.catch(fail).finally(settle);
      return;
    }
    this.pending++;
    this.queue = this.queue
      .then(() => work())
      .catch(fail)
      .finally(settle);
  }

  /** Resolves when every queued VIP/GARP operation has finished. */
  drain(): Promise<void> {
    return this.queue;
  }

  sendTo(transport: Transport | undefined, payload: Uint8Array): void {
    if (!transport) return;
    transport.send(payload, this.core.sourceAddress, this.destinations);
  }
}

export interface DaemonOptions {
  host: DaemonHost;
  logger: Logger;
  configFile: string;
}

export class Daemon {
  private readonly host: DaemonHost;
  private readonly log: Logger;
  private readonly scheduler: Scheduler;
  private readonly instances: InstanceRuntime[] = [];
  private readonly interfaces = new Map<string, InterfaceState>();
  private readonly dropLog = new RateLimitedLog(DROP_LOG_WINDOW_MS);
  private readonly failureLog: FailureLog;
  /** Instances with fault causes waiting for the current execute() to finish. */
  private readonly withPendingFaults = new Set<InstanceRuntime>();
  /** execute() nesting depth; pending faults are applied when it returns to 0. */
  private executing = 0;
  private applyingFaults = false;
  /** The last means fault each interface's transport reported (inherited by instances added later). */
  private readonly transportFaults = new Map<string, string>();
  private linkWatch: { close(): void } | undefined;
  private watchedLinks: string[] = [];
  private addressWatch: { close(): void } | undefined;
  private readonly trackerResults = new Map<string, 'ok' | 'failed'>();
  private readonly startedAt = new Date();
  private stopping = false;
  lastReloadError: string | null = null;
  /** Timers that fired more than STALL_WARN_MS late. */
  stalls = 0;
  /**
   * Event-loop lag as the protocol feels it: how late the daemon's own timer got to decide, the
   * worst of the current and the previous LAG_WINDOW_MS window. The daemon's timer runs at least
   * once per advert interval on a MASTER, so this costs nothing extra (a separate lag monitor
   * would wake the process 100 times a second, a third of its idle CPU).
   */
  private lag = { windowStartMs: Number.NEGATIVE_INFINITY, currentMs: 0, previousMs: 0 };

  constructor(private readonly options: DaemonOptions) {
    this.host = options.host;
    this.log = options.logger;
    this.scheduler = options.host.createScheduler();
    this.failureLog = new FailureLog(() => this.host.clock.nowMs());
  }

  private hostMeans(): HostMeans {
    const capabilities = this.host.capabilities();
    return { capabilities, interfaceExists: (ifname) => this.host.interfaceInfo(ifname).exists };
  }

  /** Clear stale VIPs, open sockets, then start every machine. */
  async start(specs: readonly InstanceSpec[]): Promise<void> {
    checkSpecs(specs);
    // Stale VIPs left by a crash go first (keepalived does the same at startup).
    const stale = await this.host.removeStaleVips(specs.flatMap((s) => s.vips));
    if (stale.length > 0) {
      this.log.warn({ vips: stale.map(describeVip) }, 'removed stale virtual addresses left behind');
    }
    const means = this.hostMeans();
    const added = specs.map((spec) => this.addInstance(spec, means));
    // The capabilities can be there and the kernel still refuse (a user namespace, an LSM):
    // ask it before any instance can become MASTER.
    for (const runtime of added) await this.probeMeans(runtime, RETESTED.filter((m) => !runtime.machine.faultCauses.includes(permissionCause(m))));
    this.addressWatch = this.host.watchDeletedAddresses((ifname, address) => this.handleAddressDeleted(ifname, address));
    // Sockets first: an instance whose socket cannot open starts in FAULT instead of BACKUP.
    this.syncInterfaces();
    for (const runtime of added) this.startInstance(runtime);
    this.reschedule();
    this.log.info({ instances: this.instances.length, interfaces: [...this.interfaces.keys()] }, 'vrrpd started');
  }

  /**
   * Apply a new, already validated configuration. Unchanged instances keep their state and VIPs
   * (no flap, no goodbye); changed ones are reconfigured in place (a new priority is used from the
   * next advert, VIPs that appeared or disappeared are added or removed while MASTER); removed
   * instances stop as on shutdown (a MASTER says goodbye); new ones start in BACKUP.
   */
  async reload(specs: readonly InstanceSpec[]): Promise<ReloadSummary> {
    if (this.stopping) throw new Error('stopping: reload ignored');
    checkSpecs(specs);
    const summary: ReloadSummary = { unchanged: [], changed: [], added: [], removed: [] };
    const added: InstanceRuntime[] = [];
    const means = this.hostMeans();
    const wanted = new Map(specs.map((spec) => [spec.name, spec]));
    for (const runtime of [...this.instances]) {
      const next = wanted.get(runtime.spec.name);
      // Another interface or VRID is another virtual router: stop this one, start that one.
      if (next && next.interfaceName === runtime.spec.interfaceName && next.core.virtualRouterId === runtime.core.virtualRouterId) continue;
      this.execute(runtime, runtime.machine.shutdown(this.host.clock.nowMs()));
      await runtime.drain();
      this.removeInstance(runtime);
      summary.removed.push(runtime.spec.name);
    }
    for (const spec of specs) {
      const runtime = this.instances.find((r) => r.spec.name === spec.name);
      if (!runtime) {
        added.push(this.addInstance(spec, means));
        summary.added.push(spec.name);
        continue;
      }
      if (sameSpec(runtime.spec, spec)) {
        summary.unchanged.push(spec.name);
        continue;
      }
      const before = runtime.spec.vips;
      runtime.spec = spec;
      const core = { ...spec.core, sourceAddress: this.sourceAddressFor(spec) };
      this.execute(runtime, runtime.machine.reconfigure(this.host.clock.nowMs(), core));
      this.setFault(runtime, NO_SOURCE_ADDRESS, core.sourceAddress === 0);
      if (runtime.machine.state === 'MASTER') {
        const gone = before.filter((v) => !spec.vips.some((w) => sameVip(v, w)));
        const fresh = spec.vips.filter((v) => !before.some((w) => sameVip(v, w)));
        if (gone.length > 0) runtime.enqueue('remove virtual addresses', () => this.host.removeVips(gone));
        if (fresh.length > 0) {
          runtime.enqueue('add virtual addresses', () => this.host.addVips(fresh), 'vip_add');
          runtime.enqueue('gratuitous ARP', () => this.sendGarp(runtime, fresh.map((v) => v.address)), 'garp');
        }
      }
      summary.changed.push(spec.name);
    }
    this.syncInterfaces();
    for (const runtime of added) this.startInstance(runtime);
    this.reschedule();
    await Promise.all(this.instances.map((r) => r.drain()));
    this.log.info(summary, 'configuration reloaded');
    return summary;
  }

  private sourceAddressFor(spec: InstanceSpec): Ipv4 {
    return spec.core.sourceAddress !== 0 ? spec.core.sourceAddress : (this.host.interfaceInfo(spec.interfaceName).address ?? 0);
  }

  /**
   * Create and register one instance with the faults known now; its interface's transport opens in
   * syncInterfaces(), and startInstance() starts it after that.
   */
  private addInstance(spec: InstanceSpec, means: HostMeans): InstanceRuntime {
    const t = this.host.clock.nowMs();
    const sourceAddress = this.sourceAddressFor(spec);
    const runtime: InstanceRuntime = new InstanceRuntime(spec, { ...spec.core, sourceAddress }, this.log, (what, error, operation) =>
      this.handleFailure(runtime, what, error, operation),
    );
    // behaviour.md: no usable source address is a FAULT.
    if (sourceAddress === 0) runtime.machine.setFault(t, NO_SOURCE_ADDRESS, true);
    for (const cause of startFaults(spec, means)) runtime.machine.setFault(t, cause, true);
    for (const name of trackedInterfaces(runtime.core)) {
      runtime.machine.setTrackerStatus(t, `${INTERFACE_TRACKER_PREFIX}${name}`, this.host.interfaceInfo(name).up ? 'ok' : 'failed');
    }
    for (const tracker of runtime.core.trackers) {
      const known = this.trackerResults.get(tracker.name);
      if (known !== undefined && !tracker.name.startsWith(INTERFACE_TRACKER_PREFIX)) runtime.machine.setTrackerStatus(t, tracker.name, known);
    }
    this.instances.push(runtime);
    return runtime;
  }

  private startInstance(runtime: InstanceRuntime): void {
    const t = this.host.clock.nowMs();
    // A transport opened earlier (another instance on the interface) already knows its fault.
    const transportFault = this.transportFaults.get(runtime.spec.interfaceName);
    if (transportFault !== undefined) runtime.machine.setFault(t, transportFault, true);
    this.execute(runtime, runtime.machine.start(t));
    this.scheduleRetest(runtime);
  }

  private removeInstance(runtime: InstanceRuntime): void {
    this.instances.splice(this.instances.indexOf(runtime), 1);
  }

  /**
   * Make the per-interface transports and the VRID tables match the instances: open what is new
   * (or whose multicast need changed), close what nobody uses, and watch every tracked link.
   */
  private syncInterfaces(): void {
    const needed = new Map<string, { multicast: boolean; instances: InstanceRuntime[] }>();
    for (const runtime of this.instances) {
      const entry = needed.get(runtime.spec.interfaceName) ?? { multicast: false, instances: [] };
      entry.multicast ||= runtime.core.unicastPeers.length === 0;
      entry.instances.push(runtime);
      needed.set(runtime.spec.interfaceName, entry);
    }
    for (const [ifname, state] of this.interfaces) {
      const want = needed.get(ifname);
      if (!want || want.multicast !== state.multicast) {
        state.transport.close();
        this.interfaces.delete(ifname);
        this.transportFaults.delete(ifname);
      }
    }
    for (const [ifname, want] of needed) {
      let state = this.interfaces.get(ifname);
      if (!state) {
        const transport = this.host.openTransport(
          ifname,
          want.multicast,
          (packet) => this.handlePacket(ifname, packet),
          (error) => this.handleTransportError(ifname, error),
          () => this.handleTransportOpen(ifname),
        );
        state = { name: ifname, transport, multicast: want.multicast, byVrid: new Map(), dropped: {} };
        this.interfaces.set(ifname, state);
      }
      state.byVrid = new Map(want.instances.map((r) => [r.core.virtualRouterId, r]));
    }
    const watched = [...new Set(this.instances.flatMap((r) => trackedInterfaces(r.core)))].sort();
    if (watched.join(',') !== this.watchedLinks.join(',')) {
      this.linkWatch?.close();
      this.watchedLinks = watched;
      this.linkWatch = this.host.watchLinks(watched, (ifname, up) => this.handleLink(ifname, up));
    }
  }

  /** Graceful stop: every MASTER says goodbye with priority 0 and removes its VIPs. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.scheduler.cancel();
    this.linkWatch?.close();
    this.addressWatch?.close();
    const t = this.host.clock.nowMs();
    for (const runtime of this.instances) this.execute(runtime, runtime.machine.shutdown(t));
    await Promise.all(this.instances.map((r) => r.drain()));
    for (const state of this.interfaces.values()) state.transport.close();
    this.log.info('vrrpd stopped');
  }

  /**
   * Set a tracker's status in every instance that tracks it (script runner, built-in checks). The
   * last status of every tracker is remembered, so instances started later (at start, or added by
   * a reload) begin with it instead of 'unknown'.
   */
  setTrackerStatus(tracker: string, status: 'ok' | 'failed'): void {
    this.trackerResults.set(tracker, status);
    if (this.stopping) return;
    const t = this.host.clock.nowMs();
    for (const runtime of this.instances) {
      if (runtime.machine.getTrackerStatus(tracker) === undefined) continue;
      this.execute(runtime, runtime.machine.setTrackerStatus(t, tracker, status));
    }
    this.reschedule();
  }

  /** Called after every logged transition (notify scripts hang here). */
  onTransition: ((spec: InstanceSpec, to: string, effectivePriority: number) => void) | undefined;

  transitionCounts(): Array<{ instance: string; from: string; to: string; reason: string; count: number }> {
    return this.instances.flatMap((r) =>
      [...r.transitionCounts].map(([key, count]) => {
        const [from = '', to = '', reason = ''] = key.split('>');
        return { instance: r.spec.name, from, to, reason, count };
      }),
    );
  }

  secondsSinceLastAdvert(instance: string): number | undefined {
    const at = this.instances.find((r) => r.spec.name === instance)?.machine.lastAdvertReceivedMs;
    return at === undefined ? undefined : (this.host.clock.nowMs() - at) / 1000;
  }

  stallCount(): number {
    return this.stalls;
  }

  /** The worst timer lateness of the last one to two minutes, in whole ms. */
  eventLoopLagMs(): number {
    const nowMs = this.host.clock.nowMs();
    const { windowStartMs, currentMs, previousMs } = this.lag;
    if (nowMs - windowStartMs >= 2 * LAG_WINDOW_MS) return 0;
    return Math.round(nowMs - windowStartMs >= LAG_WINDOW_MS ? currentMs : Math.max(currentMs, previousMs));
  }

  private recordLag(nowMs: number, lateMs: number): void {
    const lag = this.lag;
    if (nowMs - lag.windowStartMs >= LAG_WINDOW_MS) {
      lag.previousMs = nowMs - lag.windowStartMs >= 2 * LAG_WINDOW_MS ? 0 : lag.currentMs;
      lag.currentMs = 0;
      lag.windowStartMs = nowMs;
    }
    lag.currentMs = Math.max(lag.currentMs, lateMs);
  }

  status(): DaemonStatus {
    return {
      pid: process.pid,
      config_file: this.options.configFile,
      started_at: this.startedAt.toISOString(),
      event_loop_lag_ms: this.eventLoopLagMs(),
      last_reload_error: this.lastReloadError,
      instances: this.instances.map((r) => this.instanceStatus(r)),
      interface_dropped: Object.fromEntries([...this.interfaces].map(([ifname, state]) => [ifname, { ...state.dropped }])),
    };
  }

  private instanceStatus(runtime: InstanceRuntime): InstanceStatus {
    const m = runtime.machine;
    const dropped: Partial<Record<DropReason, number>> = {};
    for (const [reason, count] of Object.entries(m.stats.dropped) as [DropReason, number][]) if (count > 0) dropped[reason] = count;
    const transition = m.lastTransition;
    const master = m.masterAddress;
    return {
      name: runtime.spec.name,
      state: m.state,
      virtual_router_id: runtime.core.virtualRouterId,
      interface: runtime.spec.interfaceName,
      priority: runtime.core.priority,
      effective_priority: m.effectivePriority,
      virtual_addresses: runtime.spec.vips.map((v) => `${formatIpv4(v.address)}/${v.prefixLength}`),
      master_address: master === undefined ? null : formatIpv4(master),
      master_priority: m.masterPriority ?? null,
      last_transition: transition
        ? { at: this.wallTime(transition.atMs), from: transition.from, to: transition.to, reason: transition.reason }
        : null,
      adverts_sent: m.stats.advertsSent,
      adverts_received: m.stats.advertsReceived,
      priority_zero_sent: m.stats.priorityZeroSent,
      priority_zero_received: m.stats.priorityZeroReceived,
      garp_bursts: m.stats.garpBursts,
      dual_master_seen: m.stats.dualMasterSeen,
      dropped,
      fault_causes: m.faultCauses,
      trackers: runtime.core.trackers.map((t) => ({ name: t.name, weight: t.weight, status: m.getTrackerStatus(t.name) ?? 'unknown' })),
    };
  }

  /** Monotonic ms -> ISO wall time, for people reading status. */
  private wallTime(monotonicMs: number): string {
    return new Date(Date.now() - (this.host.clock.nowMs() - monotonicMs)).toISOString();
  }

  private handlePacket(ifname: string, packet: Uint8Array): void {
    if (this.stopping) return;
    const state = this.interfaces.get(ifname);
    if (!state) return;
    const peek = peekVirtualRouterId(packet);
    if (!peek.ok) {
      this.countInterfaceDrop(state, peek.reason);
      return;
    }
    const runtime = state.byVrid.get(peek.virtualRouterId);
    if (!runtime) {
      this.countInterfaceDrop(state, 'unknown_vrid'); // keepalived drops these silently
      return;
    }
    this.execute(runtime, runtime.machine.handlePacket(this.host.clock.nowMs(), packet), peek.ip.source);
    this.reschedule();
  }

  private countInterfaceDrop(state: InterfaceState, reason: DropReason): void {
    state.dropped[reason] = (state.dropped[reason] ?? 0) + 1;
  }

  /**
   * Someone deleted an address. If it is a VIP of a MASTER, keepalived's answer applies: give the
   * VIPs up (BACKUP) and come back after one Skew_Time, which restores them, unless a better master
   * speaks first. Our own removals happen after the machine has left MASTER, so they never match.
   */
  private handleAddressDeleted(ifname: string, address: Ipv4): void {
    if (this.stopping) return;
    for (const runtime of this.instances) {
      if (runtime.machine.state !== 'MASTER') continue;
      if (!runtime.spec.vips.some((v) => v.ifname === ifname && v.address === address)) continue;
      runtime.log.warn({ vip: formatIpv4(address), interface: ifname }, 'virtual address removed behind our back (NetworkManager?); giving the VIPs up and reclaiming them after Skew_Time');
      this.execute(runtime, runtime.machine.handleVirtualAddressesMissing(this.host.clock.nowMs()));
    }
    this.reschedule();
  }

  // --- the means (means.ts): failures that put an instance in FAULT, and what lifts it -----------

  /** Every transport error is logged (at most once a minute per kind); opening failures may FAULT. */
  private handleTransportError(ifname: string, error: Error): void {
    const io = toIoError('transport', error);
    this.failureLog.report(this.log, 'warn', `transport:${ifname}:${io.operation}:${io.code}`, { interface: ifname, operation: io.operation }, io, `${io.operation} failed on ${ifname}`);
    if (this.stopping) return;
    const cause = faultCauseOf('transport', io, ifname);
    if (cause === undefined) return;
    const previous = this.transportFaults.get(ifname);
    this.transportFaults.set(ifname, cause);
    for (const runtime of this.instancesOn(ifname)) {
      if (previous !== undefined && previous !== cause) this.setFault(runtime, previous, false);
      this.setFault(runtime, cause, true);
    }
  }

  /** A socket is open on ifname: the interface exists and we may use it. */
  private handleTransportOpen(ifname: string): void {
    if (this.stopping) return;
    this.transportFaults.delete(ifname);
    for (const runtime of this.instancesOn(ifname)) {
      for (const cause of clearedBySocketOpen(ifname)) this.setFault(runtime, cause, false);
      // An interface that was missing at start had no address to take the source from.
      this.resolveSourceAddress(runtime);
    }
  }

  private instancesOn(ifname: string): InstanceRuntime[] {
    return this.instances.filter((r) => r.spec.interfaceName === ifname);
  }

  /** A VIP change or GARP failed: one line (at most once a minute per kind), and maybe a FAULT. */
  private handleFailure(runtime: InstanceRuntime, what: string, error: unknown, operation: MeansOperation | undefined): void {
    const code = toIoError('', error).code;
    this.failureLog.report(runtime.log, 'error', `${runtime.spec.name}:${what}:${code}`, { operation: what }, error, `${what} failed`);
    if (operation === undefined || this.stopping) return;
    const cause = faultCauseOf(operation, error, runtime.spec.interfaceName);
    if (cause !== undefined) this.setFault(runtime, cause, true);
  }

  /** Source 0 ("the interface's address") is resolved again when it could not be at start. */
  private resolveSourceAddress(runtime: InstanceRuntime): void {
    if (runtime.spec.core.sourceAddress !== 0 || runtime.core.sourceAddress !== 0) return;
    const address = this.host.interfaceInfo(runtime.spec.interfaceName).address;
    if (address === undefined || address === 0) return;
    this.execute(runtime, runtime.machine.reconfigure(this.host.clock.nowMs(), { ...runtime.core, sourceAddress: address }));
    this.setFault(runtime, NO_SOURCE_ADDRESS, false);
  }

  /**
   * Set or clear an external fault cause. Inside execute() (a failure of an action of the batch)
   * it waits until the batch is done, so the machine's outputs are never re-entered.
   */
  private setFault(runtime: InstanceRuntime, cause: string, active: boolean): void {
    runtime.pendingFaults.set(cause, active);
    this.withPendingFaults.add(runtime);
    if (this.executing === 0) this.applyPendingFaults();
  }

  private applyPendingFaults(): void {
    if (this.applyingFaults) return;
    this.applyingFaults = true;
    try {
      for (const runtime of this.withPendingFaults) {
        this.withPendingFaults.delete(runtime);
        const pending = [...runtime.pendingFaults];
        runtime.pendingFaults.clear();
        if (!this.instances.includes(runtime) || this.stopping) continue;
        for (const [cause, active] of pending) {
          if (active && runtime.clearedByRetest.delete(cause)) runtime.retestIntervalMs = Math.min(2 * runtime.retestIntervalMs, RETEST_MAX_MS);
          if (runtime.machine.faultCauses.includes(cause) === active) continue;
          this.execute(runtime, runtime.machine.setFault(this.host.clock.nowMs(), cause, active));
        }
        this.scheduleRetest(runtime);
      }
    } finally {
      this.applyingFaults = false;
    }
    this.reschedule();
  }

  private scheduleRetest(runtime: InstanceRuntime): void {
    const causes = runtime.machine.faultCauses;
    const retest = causes.includes(NO_SOURCE_ADDRESS) || RETESTED.some((m) => causes.includes(permissionCause(m)));
    if (!retest) runtime.retestAtMs = Number.POSITIVE_INFINITY;
    else if (!Number.isFinite(runtime.retestAtMs)) runtime.retestAtMs = this.host.clock.nowMs() + runtime.retestIntervalMs;
  }

  /** Re-test the instances whose time has come (their causes are in means.ts's table). */
  private retestMeans(nowMs: number): void {
    for (const runtime of [...this.instances]) {
      if (runtime.retestAtMs - nowMs >= TIMER_EARLY_TOLERANCE_MS) continue;
      runtime.retestAtMs = Number.POSITIVE_INFINITY;
      const causes = runtime.machine.faultCauses;
      if (causes.includes(NO_SOURCE_ADDRESS)) this.resolveSourceAddress(runtime);
      void this.probeMeans(runtime, RETESTED.filter((m) => causes.includes(permissionCause(m))));
      this.scheduleRetest(runtime);
    }
  }

  /**
   * Ask the kernel, without claiming MASTER, whether the instance may do what MASTER does: removing
   * its VIPs (they must be absent outside MASTER anyway) takes the same permission as adding them;
   * the GARP probe opens the AF_PACKET socket and sends nothing. A permission error sets the cause,
   * a pass clears it, anything else (a missing interface, say) proves nothing either way.
   */
  private async probeMeans(runtime: InstanceRuntime, which: readonly MeansOperation[]): Promise<void> {
    for (const means of which) {
      const cause = permissionCause(means);
      try {
        if (means === 'vip_add') await this.host.removeVips(runtime.spec.vips);
        else this.host.probeGarp(runtime.spec.interfaceName);
      } catch (error) {
        if (!isPermissionError(error)) continue;
        this.handleFailure(runtime, means === 'vip_add' ? 'virtual address permission test' : 'gratuitous ARP permission test', error, means);
        continue;
      }
      if (runtime.machine.faultCauses.includes(cause)) {
        runtime.clearedByRetest.add(cause);
        runtime.log.info({ cause }, `${cause} cleared: the kernel allows it now`);
        this.setFault(runtime, cause, false);
      }
    }
  }

  /** GARP only from a MASTER whose VIPs went in: not after a refused add, nor after leaving MASTER. */
  private sendGarp(runtime: InstanceRuntime, addresses: readonly Ipv4[]): void {
    if (runtime.machine.state !== 'MASTER' || [...runtime.pendingFaults.values()].some((active) => active)) return;
    this.host.sendGarp(runtime.spec.interfaceName, addresses, runtime.core.garpMasterRepeat);
  }

  private handleLink(ifname: string, up: boolean): void {
    if (this.stopping) return;
    const t = this.host.clock.nowMs();
    this.log.info({ interface: ifname, up }, up ? 'link up' : 'link down');
    const tracker = `${INTERFACE_TRACKER_PREFIX}${ifname}`;
    for (const runtime of this.instances) {
      if (up && runtime.spec.interfaceName === ifname) this.resolveSourceAddress(runtime);
      if (runtime.machine.getTrackerStatus(tracker) === undefined) continue;
      this.execute(runtime, runtime.machine.setTrackerStatus(t, tracker, up ? 'ok' : 'failed'));
    }
    this.reschedule();
  }

  /**
   * The stall guard. After a stall (GC, a blocked disk, SIGSTOP) libuv runs due timers before it
   * polls sockets, so a BACKUP would declare the master dead although its adverts sit unread in
   * the socket buffer. So a late timer does not decide at once: it defers to setImmediate, which
   * runs after the next poll phase, by when every packet that was waiting has been read and handled.
   * A timer on time (under ON_TIME_MS late) decides at once: the loop was asleep in epoll_wait
   * until the deadline, and a packet that came before it would have woken the loop and been
   * handled first. That saves the new MASTER a loop turn (0.2-0.5 ms measured) in every takeover.
   */
  private onTimer(firedAtMs: number, deadlineMs: number): void {
    if (this.stopping) return;
    const lateMs = firedAtMs - deadlineMs;
    if (lateMs > STALL_WARN_MS) {
      this.stalls++;
      this.log.warn({ late_ms: Math.round(lateMs) }, 'event loop stalled: timer fired late; reading pending packets before deciding');
    }
    const decide = (): void => {
      if (this.stopping) return;
      // The scheduler may fire a fraction of a millisecond early and then hands us the deadline.
      const nowMs = Math.max(this.host.clock.nowMs(), firedAtMs);
      this.recordLag(nowMs, nowMs - deadlineMs);
      // Other machines' deadlines less than TIMER_EARLY_TOLERANCE_MS ahead are due too, by the
      // scheduler's own rule: re-arming for them would make each about 1 ms late (Node's shortest
      // timer) instead of a fraction early, one timer per instance when there are many.
      for (const runtime of this.instances) {
        const due = runtime.machine.nextDeadline();
        if (due - nowMs < TIMER_EARLY_TOLERANCE_MS) this.execute(runtime, runtime.machine.handleTimeout(Math.max(nowMs, due)));
      }
      this.retestMeans(nowMs);
      this.reschedule();
    };
    if (lateMs < ON_TIME_MS) decide();
    else setImmediate(decide);
  }

  private reschedule(): void {
    if (this.stopping) return;
    let earliest = Number.POSITIVE_INFINITY;
    for (const runtime of this.instances) earliest = Math.min(earliest, runtime.machine.nextDeadline(), runtime.retestAtMs);
    this.scheduler.schedule(Number.isFinite(earliest) ? earliest : undefined, (nowMs) => this.onTimer(nowMs, earliest));
  }

  private execute(runtime: InstanceRuntime, actions: Action[], packetSource?: Ipv4): void {
    this.executing++;
    try {
      this.perform(runtime, actions, packetSource);
    } finally {
      this.executing--;
    }
    if (this.executing === 0 && this.withPendingFaults.size > 0) this.applyPendingFaults();
  }

  private perform(runtime: InstanceRuntime, actions: Action[], packetSource: Ipv4 | undefined): void {
    const transport = this.interfaces.get(runtime.spec.interfaceName)?.transport;
    for (const action of actions) {
      switch (action.type) {
        case 'send_advert':
          try {
            runtime.sendTo(transport, action.payload);
          } catch (err) {
            this.failureLog.report(runtime.log, 'warn', `${runtime.spec.name}:advert:${toIoError('', err).code}`, { priority: action.priority }, err, 'advert not sent');
          }
          break;
        case 'add_vips':
          runtime.enqueue('add virtual addresses', () => this.host.addVips(runtime.spec.vips), 'vip_add');
          break;
        case 'remove_vips':
          runtime.enqueue('remove virtual addresses', () => this.host.removeVips(runtime.spec.vips));
          break;
        case 'garp':
          runtime.enqueue('gratuitous ARP', () => this.sendGarp(runtime, runtime.core.virtualAddresses), 'garp');
          break;
        case 'transition': {
          const key = `${action.from}>${action.to}>${action.reason}`;
          runtime.transitionCounts.set(key, (runtime.transitionCounts.get(key) ?? 0) + 1);
          runtime.log.info(
            {
              from: action.from,
              to: action.to,
              reason: action.reason,
              effective_priority: action.effectivePriority,
              master: action.masterAddress === undefined ? null : formatIpv4(action.masterAddress),
              ...(action.to === 'FAULT' ? { fault_causes: runtime.machine.faultCauses } : {}),
            },
            `${action.from} -> ${action.to} (${action.reason}${action.to === 'FAULT' ? `: ${runtime.machine.faultCauses.join(', ')}` : ''})`,
          );
          this.onTransition?.(runtime.spec, action.to, action.effectivePriority);
          break;
        }
        case 'drop': {
          const key = `${runtime.spec.name}:${action.reason}`;
          const suppressed = this.dropLog.admit(key, this.host.clock.nowMs());
          if (suppressed !== undefined) {
            const source = action.source ?? packetSource;
            runtime.log.warn(
              { reason: action.reason, source: source === undefined ? null : formatIpv4(source), detail: action.detail, suppressed, total: runtime.machine.stats.dropped[action.reason] },
              `dropped advert: ${action.reason}`,
            );
          }
          break;
        }
        case 'log':
          runtime.log[action.level]({ event: action.event, detail: action.detail }, action.event);
          break;
      }
    }
  }
}
