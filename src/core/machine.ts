/**
 * The VRRP state machine of one virtual router instance, VRRPv2 (RFC 3768) or VRRPv3 over IPv4
 * (RFC 5798), with keepalived 2.2.7's semantics.
 *
 * Theory of operation
 * - Sans-IO: every input is a method call that carries `nowMs` (monotonic milliseconds) and returns
 *   the list of actions the caller must perform, in order. The machine never touches a socket, an
 *   interface or a clock. `nextDeadline()` says when the caller must call `handleTimeout`; calling it
 *   early or twice is a harmless no-op.
 * - Everything that changes protocol state lives here. The codec and the receive checks are pure
 *   helpers; trackers only report results; the io layer only executes actions.
 * - VRRPv3 differs in three places only, as in keepalived: the packet (codec.ts, checks.ts), the
 *   Master_Adver_Interval a BACKUP learns from the master's adverts (RFC 5798 6.4.2/6.4.3), and
 *   Skew_Time, which scales with that interval (timers.ts). Everything else is one code path.
 * - Rules follow RFC 3768 section 6.4; where keepalived 2.2.7 differs (start in BACKUP even with
 *   `state MASTER`, TTL unchecked in unicast, preempt_delay, a MASTER that hears a lower priority
 *   answers at once and re-sends GARP), keepalived wins, because mixed clusters must agree.
 *   docs/protocol.md explains each rule; the comments below point at its sections.
 * - Every state change is a row of the table in transitions.ts (docs/protocol.md#transition-table);
 *   moveTo() checks it and throws on any other move, which would be a bug here, not bad input.
 * - Bad packets are values: they are dropped, counted by reason and reported as a `drop` action.
 *   Misuse of the API (an unknown tracker name, a start twice) throws.
 */
import { encodeAdvert, isAdvertV3 } from './codec.js';
import { checkAdvert } from './checks.js';
import { VRRP_IPV6_MULTICAST_GROUP, VRRP_MULTICAST_GROUP, type IpAddress } from './ip.js';
import { masterDownIntervalFor, skewTimeFor } from './timers.js';
import {
  DROP_REASONS,
  MAX_V3_ADVERT_INTERVAL_CS,
  type Advert,
  type AdvertV3,
  type Action,
  type DropReason,
  type InstanceConfig,
  type ReceiveExpectations,
  type TrackerStatus,
  type TransitionReason,
  type VrrpState,
} from './types.js';
import { checkTransition } from './transitions.js';

/** Priority of the address owner (RFC 3768 5.3.4). */
export const OWNER_PRIORITY = 255;
const NO_DEADLINE = Number.POSITIVE_INFINITY;

export interface MachineStats {
  advertsSent: number;
  advertsReceived: number;
  priorityZeroSent: number;
  priorityZeroReceived: number;
  garpBursts: number;
  becameMaster: number;
  /** A MASTER heard an advert from another MASTER (any priority): a dual master happened. */
  dualMasterSeen: number;
  dropped: Record<DropReason, number>;
}

export interface TransitionRecord {
  atMs: number;
  from: VrrpState;
  to: VrrpState;
  reason: TransitionReason;
}

interface Timers {
  /** MASTER: next periodic advert (RFC 3768 Adver_Timer). */
  advertMs: number;
  /** BACKUP: Master_Down_Timer. */
  masterDownMs: number;
  /** MASTER: the second GARP burst, garp_master_delay after becoming MASTER. */
  garpDelayMs: number;
  /** MASTER: periodic GARP bursts when garp_master_refresh is set. */
  garpRefreshMs: number;
}

function emptyDrops(): Record<DropReason, number> {
  const drops = {} as Record<DropReason, number>;
  for (const reason of DROP_REASONS) drops[reason] = 0;
  return drops;
}

/**
 * The next firing of a periodic timer that fired at nowMs for its deadline `previous`: one period
 * after the deadline, so that a timer served a little late (a busy loop, hundreds of instances
 * due together) does not drift and its instances stay in step with their delayed-GARP and refresh
 * deadlines (docs/protocol.md#timer-phase). Served more than a period late (a stall), it restarts
 * from now instead of firing a burst to catch up.
 */
function inPhase(previous: number, periodMs: number, nowMs: number): number {
  const next = previous + periodMs;
  return next > nowMs ? next : nowMs + periodMs;
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}

export class VrrpMachine {
  private currentConfig: InstanceConfig;
  private currentState: VrrpState = 'INIT';
  private started = false;
  private readonly timers: Timers = { advertMs: NO_DEADLINE, masterDownMs: NO_DEADLINE, garpDelayMs: NO_DEADLINE, garpRefreshMs: NO_DEADLINE };
  /** keepalived's preempt_time: until then a BACKUP still accepts lower-priority adverts. */
  private preemptUntilMs: number | undefined;
  private trackerStatus: Map<string, TrackerStatus>;
  private readonly externalFaults = new Set<string>();
  /** Amounts added to the priority from outside the tracker table (track files, by cause name). */
  private readonly priorityOffsets = new Map<string, number>();
  private master: IpAddress | undefined;
  private lastMasterPriority: number | undefined;
  private transition: TransitionRecord | undefined;
  private lastAdvertMs: number | undefined;
  /**
   * RFC 5798's Master_Adver_Interval, centiseconds: our own interval, except that a VRRPv3 BACKUP
   * takes the master's from every advert it obeys (and a MASTER from the advert it steps down to).
   * Skew_Time and Master_Down_Interval are computed from it. VRRPv2 never learns (it drops adverts
   * with another interval), so there it is always our own.
   */
  private masterAdverIntervalCs: number;
  /**
   * VRRPv3 'auto' checksum mode: a unicast advert verified only with 224.0.0.18 in the
   * pseudo-header, so this instance now sends and checks that way too (keepalived: "Setting
   * unicast VRRPv3 checksum to old version"), until the configuration's mode changes.
   */
  private oldChecksumLearned = false;
  /**
   * keepalived's wantstate == MASTER: this instance would be MASTER were it not for its sync group
   * (its Master_Down_Timer fired and no advert has been obeyed since), or it is MASTER. Starts as
   * `state MASTER` says. docs/protocol.md#sync-groups
   */
  private wantMaster: boolean;
  /** Set by the engine for a sync group member: may this instance go MASTER now? */
  private syncGate: (() => boolean) | undefined;
  readonly stats: MachineStats = {
    advertsSent: 0,
    advertsReceived: 0,
    priorityZeroSent: 0,
    priorityZeroReceived: 0,
    garpBursts: 0,
    becameMaster: 0,
    dualMasterSeen: 0,
    dropped: emptyDrops(),
  };

  constructor(config: InstanceConfig) {
    if (!Number.isInteger(config.priority) || config.priority < 1 || config.priority > OWNER_PRIORITY) {
      throw new RangeError(`priority must be 1..255, got ${config.priority}`);
    }
    VrrpMachine.checkInterval(config);
    this.currentConfig = config;
    this.masterAdverIntervalCs = config.advertIntervalCs;
    this.trackerStatus = VrrpMachine.trackerTable(config, new Map());
    this.wantMaster = config.initialState === 'MASTER';
  }

  /**
   * Make this instance a sync group member (call before start): when its Master_Down_Timer fires it
   * asks `gate` whether it may go MASTER, and waits another Master_Down_Interval when not
   * (docs/protocol.md#sync-groups). undefined leaves the group.
   */
  setSyncGate(gate: (() => boolean) | undefined): void {
    this.syncGate = gate;
  }

  /** keepalived's wantstate == MASTER (docs/protocol.md#sync-groups): what a sync group asks of its members. */
  get wantsMaster(): boolean {
    return this.wantMaster;
  }

  /**
   * Call when the instance's sync group moves it: BACKUP -> MASTER as if its Master_Down_Timer had
   * fired, or MASTER -> BACKUP without a priority-0 advert (keepalived's vrrp_sync_master and
   * vrrp_sync_backup). Any other state is left alone. Stepping down sends the same parting advert at
   * our own priority as a step-down on a higher-priority advert: in the 99/98 race the group's other
   * members lose too, and their winners must hear it to re-send their GARP/NA burst, or a client
   * that learnt our MAC for an IPv6 VIP stays on it until the next refresh (docs/protocol.md#sync-groups).
   */
  syncTo(nowMs: number, state: 'MASTER' | 'BACKUP'): Action[] {
    const actions: Action[] = [];
    if (state === 'MASTER' && this.currentState === 'BACKUP') {
      this.becomeMaster(nowMs, 'sync_group', actions);
    } else if (state === 'BACKUP' && this.currentState === 'MASTER') {
      this.sendAdvert(this.effectivePriority, actions);
      actions.push({ type: 'remove_vips' });
      this.becomeBackup(nowMs, 'sync_group', this.masterDownMs(), actions);
    }
    return actions;
  }

  /** VRRPv2: whole seconds 1..255; VRRPv3: 1..4095 centiseconds (the config layer rounds as keepalived does). */
  private static checkInterval(config: InstanceConfig): void {
    const cs = config.advertIntervalCs;
    if (config.version === 3) {
      if (!Number.isInteger(cs) || cs < 1 || cs > MAX_V3_ADVERT_INTERVAL_CS) throw new RangeError(`VRRPv3 advertIntervalCs must be 1..4095, got ${cs}`);
    } else if (config.version === 2) {
      if (!Number.isInteger(cs) || cs % 100 !== 0 || cs < 100 || cs > 25_500) throw new RangeError(`VRRPv2 advertIntervalCs must be whole seconds 100..25500, got ${cs}`);
    } else {
      throw new RangeError(`version must be 2 or 3, got ${String(config.version)}`);
    }
  }

  private static trackerTable(config: InstanceConfig, previous: ReadonlyMap<string, TrackerStatus>): Map<string, TrackerStatus> {
    const table = new Map<string, TrackerStatus>();
    for (const tracker of config.trackers) {
      if (table.has(tracker.name)) throw new Error(`duplicate tracker ${tracker.name}`);
      table.set(tracker.name, previous.get(tracker.name) ?? 'unknown');
    }
    return table;
  }

  get config(): InstanceConfig {
    return this.currentConfig;
  }

  /**
   * Call on reload with the instance's new configuration (same VRID). State and timers are kept, so
   * an unchanged or lightly changed instance neither flaps nor says goodbye: a new priority is used
   * from the next advert, trackers that remain keep their status. The caller adds or removes VIPs
   * that appeared or disappeared while MASTER.
   */
  reconfigure(nowMs: number, config: InstanceConfig): Action[] {
    if (config.virtualRouterId !== this.currentConfig.virtualRouterId) {
      throw new Error('reconfigure cannot change the VRID; stop this instance and start a new one');
    }
    VrrpMachine.checkInterval(config);
    const before = this.effectivePriority;
    const trackers = VrrpMachine.trackerTable(config, this.trackerStatus);
    const previous = this.currentConfig;
    this.currentConfig = config;
    this.trackerStatus = trackers;
    // A VRRPv3 BACKUP keeps the interval it learnt from the master; everywhere else it is our own.
    if (config.version === 2 || previous.version !== config.version || this.currentState !== 'BACKUP') this.masterAdverIntervalCs = config.advertIntervalCs;
    if (previous.v3Checksum !== config.v3Checksum || previous.version !== config.version) this.oldChecksumLearned = false;
    const actions: Action[] = [];
    const after = this.effectivePriority;
    actions.push({ type: 'log', level: 'info', event: 'reconfigured', detail: before === after ? undefined : `priority ${before} -> ${after}` });
    if (this.currentState === 'MASTER') {
      // A shorter advert_int must not wait out the old, longer one.
      this.timers.advertMs = Math.min(this.timers.advertMs, nowMs + this.advertIntervalMs());
      if (config.garpMasterRefreshMs === 0) this.timers.garpRefreshMs = NO_DEADLINE;
      else if (!Number.isFinite(this.timers.garpRefreshMs)) this.timers.garpRefreshMs = nowMs + config.garpMasterRefreshMs;
    }
    this.reconcileFault(nowMs, actions);
    return actions;
  }

  get state(): VrrpState {
    return this.currentState;
  }

  /** The address of the current master: ours when MASTER, the last accepted advert's source in BACKUP. */
  get masterAddress(): IpAddress | undefined {
    return this.currentState === 'MASTER' ? this.config.sourceAddress : this.master;
  }

  /** Master_Adver_Interval in ms: the master's interval a VRRPv3 BACKUP learnt, otherwise our own. */
  get masterAdverIntervalMs(): number {
    return this.masterAdverIntervalCs * 10;
  }

  /** VRRPv3: the checksum's pseudo-header destination this instance uses now (docs/protocol.md#vrrpv3-checksum). */
  get v3ChecksumDestination(): 'destination' | 'group' {
    if (this.config.unicastPeers.length === 0) return 'group';
    // IPv6 has no old variant: a unicast copy always covers its real destination.
    if (this.config.family === 6) return 'destination';
    return this.config.v3Checksum === 'group' || this.oldChecksumLearned ? 'group' : 'destination';
  }

  /** When the last valid advert was received (any priority), if ever. */
  get lastAdvertReceivedMs(): number | undefined {
    return this.lastAdvertMs;
  }

  get lastTransition(): TransitionRecord | undefined {
    return this.transition;
  }

  /** nopreempt is only honoured with `state BACKUP` and below 255 (keepalived clears it otherwise; docs/protocol.md#preemption). */
  get preempt(): boolean {
    return !(this.config.nopreempt && this.config.initialState === 'BACKUP' && this.config.priority !== OWNER_PRIORITY);
  }

  /**
   * Configured priority plus every weighted tracker's contribution, clamped to 1..254; the owner
   * stays at 255 (weights at 255 are a configuration error the config layer refuses).
   * docs/protocol.md#tracking-and-effective-priority
   */
  get effectivePriority(): number {
    if (this.config.priority === OWNER_PRIORITY) return OWNER_PRIORITY;
    let priority = this.config.priority;
    for (const tracker of this.config.trackers) {
      if (tracker.weight === 0) continue;
      const status = this.trackerStatus.get(tracker.name);
      if (status === 'unknown' || status === undefined) continue; // nothing until its first result
      let contribution = 0;
      if (tracker.weight < 0 && status === 'failed') contribution = tracker.weight;
      if (tracker.weight > 0 && status === 'ok') contribution = tracker.weight;
      priority += tracker.reverse ? -contribution : contribution;
    }
    for (const offset of this.priorityOffsets.values()) priority += offset;
    return clamp(priority, 1, OWNER_PRIORITY - 1);
  }

  /** Causes that currently hold the instance in FAULT (external ones and failing weight-0 trackers). */
  get faultCauses(): string[] {
    const causes = [...this.externalFaults];
    for (const tracker of this.config.trackers) {
      if (tracker.weight !== 0) continue;
      const status = this.trackerStatus.get(tracker.name);
      const failing = tracker.reverse ? status === 'ok' : status === 'failed';
      if (failing) causes.push(tracker.name);
    }
    return causes;
  }

  getTrackerStatus(name: string): TrackerStatus | undefined {
    return this.trackerStatus.get(name);
  }

  /** When the caller must next call handleTimeout; Infinity when nothing is pending. */
  nextDeadline(): number {
    switch (this.currentState) {
      case 'MASTER':
        return Math.min(this.timers.advertMs, this.timers.garpDelayMs, this.timers.garpRefreshMs);
      case 'BACKUP':
        return this.timers.masterDownMs;
      default:
        return NO_DEADLINE;
    }
  }

  /** Call once when the instance starts (after any setFault/setTrackerStatus known at startup). */
  start(nowMs: number): Action[] {
    if (this.started) throw new Error(`instance ${this.config.name} already started`);
    this.started = true;
    this.masterAdverIntervalCs = this.config.advertIntervalCs;
    const actions: Action[] = [];
    if (this.faultCauses.length > 0) {
      this.moveTo(nowMs, 'FAULT', 'fault', actions);
    } else if (this.config.priority === OWNER_PRIORITY) {
      // RFC 3768 6.4.1: the address owner goes straight to MASTER.
      this.becomeMaster(nowMs, 'address_owner', actions);
    } else if (this.syncGate !== undefined && this.config.initialState === 'MASTER') {
      // keepalived: a sync group member with `state MASTER` waits one advert interval (plus the
      // smallest skew) for a master to speak, not a whole Master_Down_Interval
      // (docs/protocol.md#sync-groups).
      this.becomeBackup(nowMs, 'start', this.advertIntervalMs() + skewTimeFor(this.config.version, OWNER_PRIORITY, this.masterAdverIntervalCs), actions);
      this.wantMaster = true;
    } else {
      // keepalived 2.x: every other instance starts in BACKUP, even with `state MASTER`
      // (docs/protocol.md#starting).
      this.becomeBackup(nowMs, 'start', this.masterDownMs(), actions);
    }
    return actions;
  }

  /** Call with every IPv4 packet the dispatcher routed to this instance (header included). */
  handlePacket(nowMs: number, packet: Uint8Array): Action[] {
    const actions: Action[] = [];
    if (this.currentState === 'FAULT' || this.currentState === 'INIT') {
      this.drop('not_ready', undefined, actions);
      return actions;
    }
    const result = checkAdvert(packet, this.expectations());
    if (!result.ok) {
      this.drop(result.reason, undefined, actions, result.detail);
      return actions;
    }
    const { advert, ip } = result;
    if (ip.source === this.config.sourceAddress) return actions; // our own advert looped back
    if (result.oldChecksum === true && !this.oldChecksumLearned) {
      this.oldChecksumLearned = true;
      actions.push({ type: 'log', level: 'warn', event: 'v3_checksum_set_to_old', detail: 'Setting unicast VRRPv3 checksum to old version (pseudo-header destination 224.0.0.18)' });
    }
    this.stats.advertsReceived++;
    this.lastAdvertMs = nowMs;
    if (advert.priority === 0) this.stats.priorityZeroReceived++;
    if (this.currentState === 'BACKUP') this.backupReceive(nowMs, advert, ip.source, actions);
    else this.masterReceive(nowMs, advert, ip.source, actions);
    return actions;
  }

  /** Call at (or after) nextDeadline(); fires every timer that is due. */
  handleTimeout(nowMs: number): Action[] {
    const actions: Action[] = [];
    if (this.currentState === 'BACKUP' && this.timers.masterDownMs <= nowMs) {
      // RFC 3768 6.4.2: Master_Down_Timer fired.
      this.wantMaster = true;
      if (this.syncGate !== undefined && !this.syncGate()) {
        // keepalived's vrrp_sync_can_goto_master: the group prefers BACKUP until every member
        // wants MASTER; wait another Master_Down_Interval (docs/protocol.md#sync-groups).
        this.timers.masterDownMs = nowMs + this.masterDownMs();
        actions.push({ type: 'log', level: 'info', event: 'sync_group_hold', detail: 'Master_Down_Timer fired; held in BACKUP until the other members of the sync group want MASTER too' });
        return actions;
      }
      this.becomeMaster(nowMs, 'master_down_timer', actions);
      return actions;
    }
    if (this.currentState !== 'MASTER') return actions;
    if (this.timers.advertMs <= nowMs) {
      // RFC 3768 6.4.3: Adver_Timer fired.
      this.sendAdvert(this.effectivePriority, actions);
      this.timers.advertMs = inPhase(this.timers.advertMs, this.advertIntervalMs(), nowMs);
    }
    if (this.timers.garpDelayMs <= nowMs) {
      this.garp('delayed', actions);
      this.timers.garpDelayMs = NO_DEADLINE;
    }
    if (this.timers.garpRefreshMs <= nowMs) {
      this.garp('refresh', actions);
      this.timers.garpRefreshMs = inPhase(this.timers.garpRefreshMs, this.config.garpMasterRefreshMs, nowMs);
    }
    return actions;
  }

  /**
   * Call when a tracker's (already rise/fall-filtered) status changes. Weight 0 failing means
   * FAULT; weighted trackers change the effective priority, used from the next advert on.
   */
  setTrackerStatus(nowMs: number, name: string, status: TrackerStatus): Action[] {
    if (!this.trackerStatus.has(name)) throw new Error(`instance ${this.config.name} has no tracker ${name}`);
    const before = this.effectivePriority;
    this.trackerStatus.set(name, status);
    const actions: Action[] = [];
    const after = this.effectivePriority;
    if (after !== before) {
      actions.push({ type: 'log', level: 'info', event: 'priority_changed', detail: `${before} -> ${after} (${name} ${status})` });
    }
    this.reconcileFault(nowMs, actions);
    return actions;
  }

  /**
   * Add `offset` to the priority under `key` (a track file's weighted value; 0 or undefined removes
   * it). Used from the next advert on, like a weighted tracker.
   */
  setPriorityOffset(nowMs: number, key: string, offset: number | undefined): Action[] {
    const before = this.effectivePriority;
    if (offset === undefined || offset === 0) this.priorityOffsets.delete(key);
    else this.priorityOffsets.set(key, offset);
    const actions: Action[] = [];
    const after = this.effectivePriority;
    if (after !== before) actions.push({ type: 'log', level: 'info', event: 'priority_changed', detail: `${before} -> ${after} (${key} ${offset ?? 0})` });
    this.reconcileFault(nowMs, actions);
    return actions;
  }

  get priorityOffsetKeys(): string[] {
    return [...this.priorityOffsets.keys()];
  }

  /** Call when an external fault cause appears or clears (e.g. `interface:ens32` link down). */
  setFault(nowMs: number, cause: string, active: boolean): Action[] {
    if (active) this.externalFaults.add(cause);
    else this.externalFaults.delete(cause);
    const actions: Action[] = [];
    this.reconcileFault(nowMs, actions);
    return actions;
  }

  /**
   * Call when a MASTER finds one of its VIPs deleted behind its back. As keepalived: give the VIPs
   * up (BACKUP) and come back after one Skew_Time unless a better master speaks first
   * (docs/protocol.md#vips).
   */
  handleVirtualAddressesMissing(nowMs: number): Action[] {
    const actions: Action[] = [];
    if (this.currentState !== 'MASTER') return actions;
    actions.push({ type: 'remove_vips' });
    this.becomeBackup(nowMs, 'virtual_address_removed', this.skewMs(), actions);
    return actions;
  }

  /** Call on graceful stop: a MASTER says goodbye with priority 0 and removes its VIPs (RFC 3768 6.4.3). */
  shutdown(nowMs: number): Action[] {
    const actions: Action[] = [];
    if (this.currentState === 'MASTER') {
      this.sendAdvert(0, actions);
      actions.push({ type: 'remove_vips' });
    }
    this.master = undefined;
    if (this.currentState !== 'INIT') this.moveTo(nowMs, 'INIT', 'shutdown', actions);
    this.clearTimers();
    this.started = false;
    return actions;
  }

  // --- receive rules -------------------------------------------------------------------------

  private backupReceive(nowMs: number, advert: Advert | AdvertV3, source: IpAddress, actions: Action[]): void {
    const ours = this.effectivePriority;
    const priority = advert.priority;
    if (priority === 0) {
      // RFC 3768 6.4.2: the master resigned; take over after Skew_Time (also with nopreempt). VRRPv3
      // (RFC 5798 6.4.2) scales it with the Master_Adver_Interval already known: a goodbye's own
      // interval is not learnt (keepalived).
      this.timers.masterDownMs = nowMs + this.skewMs();
      return;
    }
    const delay = this.config.preemptDelayMs;
    if (delay > 0 && priority < ours && this.preempt && this.preemptUntilMs === undefined) {
      this.preemptUntilMs = nowMs + delay; // first lower-priority advert seen: start the preempt delay
      actions.push({ type: 'log', level: 'info', event: 'preempt_delay_started', detail: `${delay} ms` });
    }
    const withinPreemptDelay = this.preemptUntilMs !== undefined && nowMs < this.preemptUntilMs;
    if (!this.preempt || priority >= ours || withinPreemptDelay) {
      // Accept: reset Master_Down_Timer. With nopreempt every valid advert does (the nopreempt trap).
      // VRRPv3 (RFC 5798 6.4.2): first take the master's interval, from every advert obeyed.
      this.learnMasterAdverInterval(advert, actions);
      this.timers.masterDownMs = nowMs + this.masterDownMs();
      // keepalived: an obeyed advert means we want BACKUP again, even if a sync group held us.
      this.wantMaster = false;
      this.master = source;
      this.lastMasterPriority = priority;
      if (delay > 0 && priority >= ours) this.preemptUntilMs = undefined;
      return;
    }
    // Lower priority with preempt: ignore, so Master_Down runs out and we take over (RFC 3768 6.4.2).
    actions.push({ type: 'log', level: 'debug', event: 'lower_priority_advert_ignored', detail: `priority ${priority}` });
  }

  private masterReceive(nowMs: number, advert: Advert | AdvertV3, source: IpAddress, actions: Action[]): void {
    const ours = this.effectivePriority;
    const priority = advert.priority;
    if (priority === 0) {
      // RFC 3768 6.4.3: answer a resigning router at once so backups hold.
      this.sendAdvert(ours, actions);
      this.timers.advertMs = nowMs + this.advertIntervalMs();
      return;
    }
    this.stats.dualMasterSeen++;
    const higher = priority > ours;
    const equalButHigherAddress = priority === ours && source > this.config.sourceAddress;
    if (higher || equalButHigherAddress) {
      // RFC 3768 6.4.3: step down without a priority-0 advert. vrrpd adds one parting advert at our
      // own priority: the winner hears a lower priority and answers with a GARP burst (as keepalived
      // and vrrpd masters do), so clients that learnt our MAC during the dual master learn the
      // winner's again. Without it, a winner heard first never re-sends GARP (a known field failure).
      this.sendAdvert(ours, actions);
      actions.push({ type: 'remove_vips' });
      this.master = source;
      this.lastMasterPriority = priority;
      // RFC 5798 6.4.3: Master_Adver_Interval from the advert we step down to.
      this.learnMasterAdverInterval(advert, actions);
      this.becomeBackup(nowMs, higher ? 'higher_priority_advert' : 'equal_priority_higher_address', this.masterDownMs(), actions);
      return;
    }
    // keepalived: a MASTER that hears a lower priority answers at once and re-teaches the network
    // (docs/protocol.md#receiving-in-master).
    this.sendAdvert(ours, actions);
    this.timers.advertMs = nowMs + this.advertIntervalMs();
    this.garp('lower_priority_advert', actions);
  }

  // --- transitions ---------------------------------------------------------------------------

  private reconcileFault(nowMs: number, actions: Action[]): void {
    if (!this.started) return; // start() decides the first state
    const faulty = this.faultCauses.length > 0;
    if (faulty && this.currentState !== 'FAULT') {
      if (this.currentState === 'MASTER') {
        // Leaving MASTER for FAULT says goodbye, so a backup takes over in Skew_Time (docs/protocol.md#fault).
        this.sendAdvert(0, actions);
        actions.push({ type: 'remove_vips' });
      }
      this.clearTimers();
      this.master = undefined; // in FAULT we hear nobody, so we know no master
      this.masterAdverIntervalCs = this.config.advertIntervalCs;
      this.wantMaster = false;
      this.moveTo(nowMs, 'FAULT', 'fault', actions);
    } else if (!faulty && this.currentState === 'FAULT') {
      // keepalived resets Master_Adver_Interval to our own when leaving FAULT.
      this.masterAdverIntervalCs = this.config.advertIntervalCs;
      if (this.config.priority === OWNER_PRIORITY) this.becomeMaster(nowMs, 'fault_cleared', actions);
      else this.becomeBackup(nowMs, 'fault_cleared', this.masterDownMs(), actions);
    }
  }

  /** Advert, VIPs, GARP burst (and one later), then notify (docs/protocol.md#becoming-master). */
  private becomeMaster(nowMs: number, reason: TransitionReason, actions: Action[]): void {
    this.clearTimers();
    // A MASTER's Master_Adver_Interval is its own (keepalived run with -D, as in the lab, does the
    // same; without -D it keeps the old master's: docs/protocol.md#vrrpv3-timers).
    this.masterAdverIntervalCs = this.config.advertIntervalCs;
    this.sendAdvert(this.effectivePriority, actions);
    actions.push({ type: 'add_vips' });
    this.garp('become_master', actions);
    this.timers.advertMs = nowMs + this.advertIntervalMs();
    if (this.config.garpMasterDelayMs > 0) this.timers.garpDelayMs = nowMs + this.config.garpMasterDelayMs;
    if (this.config.garpMasterRefreshMs > 0) this.timers.garpRefreshMs = nowMs + this.config.garpMasterRefreshMs;
    this.stats.becameMaster++;
    this.wantMaster = true;
    this.master = this.config.sourceAddress;
    this.moveTo(nowMs, 'MASTER', reason, actions);
  }

  private becomeBackup(nowMs: number, reason: TransitionReason, masterDownInMs: number, actions: Action[]): void {
    this.clearTimers();
    this.timers.masterDownMs = nowMs + masterDownInMs;
    this.wantMaster = false;
    if (reason === 'start' || reason === 'fault_cleared') {
      this.master = undefined;
      // vrrpd starts the preempt delay at startup and when leaving FAULT; keepalived 2.2.7 starts it
      // at the first lower-priority advert instead (docs/protocol.md#preemption).
      this.preemptUntilMs = this.config.preemptDelayMs > 0 ? nowMs + this.config.preemptDelayMs : undefined;
    }
    this.moveTo(nowMs, 'BACKUP', reason, actions);
  }

  private moveTo(nowMs: number, to: VrrpState, reason: TransitionReason, actions: Action[]): void {
    const from = this.currentState;
    checkTransition(from, to, reason); // throws on a move the table does not allow: a bug here
    this.currentState = to;
    this.transition = { atMs: nowMs, from, to, reason };
    actions.push({
      type: 'transition',
      from,
      to,
      reason,
      effectivePriority: this.effectivePriority,
      masterAddress: this.masterAddress,
    });
  }

  // --- helpers -------------------------------------------------------------------------------

  private sendAdvert(priority: number, actions: Action[]): void {
    const config = this.config;
    let payload: Uint8Array;
    let perDestination = false;
    if (config.version === 3) {
      // The pseudo-header's destination: 224.0.0.18 (multicast, old_unicast_checksum) makes one
      // payload right for every copy; otherwise each peer's copy gets its own checksum (the engine).
      const group = this.v3ChecksumDestination === 'group';
      perDestination = !group;
      const destination = group ? (config.family === 6 ? VRRP_IPV6_MULTICAST_GROUP : VRRP_MULTICAST_GROUP) : (config.unicastPeers[0] as IpAddress);
      payload = encodeAdvert(
        { version: 3, type: 1, virtualRouterId: config.virtualRouterId, priority, advertIntervalCs: config.advertIntervalCs, addresses: config.virtualAddresses },
        { source: config.sourceAddress, destination },
      );
    } else {
      payload = encodeAdvert({
        version: 2,
        type: 1,
        virtualRouterId: config.virtualRouterId,
        priority,
        authType: config.authType,
        advertIntervalSec: config.advertIntervalCs / 100,
        // VRRPv2 instances are IPv4 (the config layer refuses IPv6 with version 2).
        addresses: config.virtualAddresses as number[],
        authData: config.authData,
      });
    }
    this.stats.advertsSent++;
    if (priority === 0) this.stats.priorityZeroSent++;
    actions.push({ type: 'send_advert', priority, payload, perDestination });
  }

  /** VRRPv3: Master_Adver_Interval := the advert's Max Adver Int (RFC 5798 6.4.2, 6.4.3). */
  private learnMasterAdverInterval(advert: Advert | AdvertV3, actions: Action[]): void {
    if (this.config.version !== 3 || !isAdvertV3(advert) || advert.advertIntervalCs === this.masterAdverIntervalCs) return;
    actions.push({
      type: 'log',
      level: 'info',
      event: 'master_advert_interval_updated',
      detail: `advertisement interval updated from ${this.masterAdverIntervalCs * 10}ms to ${advert.advertIntervalCs * 10}ms by master`,
    });
    this.masterAdverIntervalCs = advert.advertIntervalCs;
  }

  private garp(why: 'become_master' | 'delayed' | 'refresh' | 'lower_priority_advert', actions: Action[]): void {
    this.stats.garpBursts++;
    actions.push({ type: 'garp', why });
  }

  private drop(reason: DropReason, source: IpAddress | undefined, actions: Action[], detail?: string): void {
    this.stats.dropped[reason]++;
    actions.push(detail === undefined ? { type: 'drop', reason, source } : { type: 'drop', reason, source, detail });
  }

  private expectations(): ReceiveExpectations {
    return {
      family: this.config.family ?? 4,
      version: this.config.version,
      authType: this.config.authType,
      authData: this.config.authData,
      advertIntervalCs: this.config.advertIntervalCs,
      v3Checksum: this.oldChecksumLearned ? 'group' : this.config.v3Checksum,
      virtualAddresses: this.config.virtualAddresses,
      unicastPeers: this.config.unicastPeers,
      checkUnicastSrc: this.config.checkUnicastSrc,
      checkAddressList: this.currentState === 'MASTER' || !this.config.skipCheckAdvAddr,
    };
  }

  private clearTimers(): void {
    this.timers.advertMs = NO_DEADLINE;
    this.timers.masterDownMs = NO_DEADLINE;
    this.timers.garpDelayMs = NO_DEADLINE;
    this.timers.garpRefreshMs = NO_DEADLINE;
  }

  private advertIntervalMs(): number {
    return this.config.advertIntervalCs * 10;
  }

  private masterDownMs(): number {
    return masterDownIntervalFor(this.config.version, this.masterAdverIntervalCs, this.effectivePriority);
  }

  private skewMs(): number {
    return skewTimeFor(this.config.version, this.effectivePriority, this.masterAdverIntervalCs);
  }

  /** The priority of the last master whose advert we accepted (for status). */
  get masterPriority(): number | undefined {
    return this.currentState === 'MASTER' ? this.effectivePriority : this.lastMasterPriority;
  }
}
