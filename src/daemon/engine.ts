/**
 * The daemon's engine: every decision the daemon makes, with no I/O (sans-IO, in the manner of
 * quinn-proto's Endpoint over its Connections).
 *
 * Theory of operation
 * - The engine holds one VrrpMachine per configured instance and everything the daemon knows
 *   between events: which interface carries which VRIDs, the rise/fall memory of every check, the
 *   instances' VIP lists, counters and the event-loop lag.
 * - Inputs are method calls that carry `nowMs` (monotonic milliseconds): start, a received packet,
 *   a check result, a link change, an address deleted by someone else, the shell's timer, a reload,
 *   a host operation that failed, shutdown. Facts about the host (an interface's address and link
 *   state) come in as arguments, never read here.
 * - Outputs are host commands, queued in order and taken one at a time with pollCommand(): send an
 *   advert, add or remove VIPs, send a GARP burst, open or close a transport, watch links, start or
 *   stop a check, run notify scripts, log a line. The shell executes each command before polling the
 *   next, so the order the engine queues is the order the host sees: an advert, then the VIPs, then
 *   the GARP that announces them; a removal never overtakes the add queued before it.
 * - nextDeadline() says when the shell must call handleTimer(); one timer serves every instance,
 *   and deadlines less than TIMER_EARLY_TOLERANCE_MS apart are handled in one firing.
 * - The simulator (test/sim) runs this very class with a fake host, so every decision here is
 *   exercised by the scenario tests and the randomised swarm.
 *
 * docs/protocol.md has the protocol rules the machines follow; this file only routes, remembers and
 * orders.
 */
import { encodeIpv4Packet, peekVirtualRouterId, withV3Checksum } from '../core/codec.js';
import { familyOf, formatIp, VRRP_IPV6_MULTICAST_GROUP, VRRP_MULTICAST_GROUP, type AddressFamily, type IpAddress, type Ipv4, type Ipv6 } from '../core/ip.js';
import { VrrpMachine } from '../core/machine.js';
import { parseTrackFileValue, trackFileCause, trackFileEffect } from '../core/track-file.js';
import { interfaceTrackerName, parseTrackerName, RiseFallFilter } from '../core/tracker.js';
import type { Action, DropReason, InstanceConfig, TrackerStatus, TransitionReason, VrrpState } from '../core/types.js';
import { TIMER_EARLY_TOLERANCE_MS } from '../io/clock.js';
import type { NotifyCommands, NotifyState } from '../io/notify.js';
import type { MirrorDecodeResult, MirrorEndpoint } from '../io/mirror.js';
import type { Capabilities } from '../io/privileges.js';
import type { VipSpec } from '../io/vip.js';
import {
  clearedBySocketOpen,
  faultCauseOf,
  isPermissionFailure,
  permissionCause,
  RETEST_MAX_MS,
  RETEST_MS,
  RETESTED,
  startFaults,
  type HostFailure,
  type Means,
} from './means.js';
import { PeerTable, type AdvertPath } from './peers.js';
import { RateLimitedLog } from './rate-limit.js';
import type { InstanceStatus } from './status.js';

/** Limits: keepalived allows 255 VRIDs per interface; so do we, per daemon. */
export const MAX_INSTANCES = 255;
/** Drop log lines: one per instance and reason per window. */
const DROP_LOG_WINDOW_MS = 10_000;
/**
 * Host failures (a VIP add refused, a socket that will not open and is retried every second): one
 * line per kind per window, without a stack, with the number suppressed.
 */
const HOST_ERROR_LOG_WINDOW_MS = 60_000;
/** docs/protocol.md#fault: no usable source address is a FAULT. */
const NO_SOURCE_ADDRESS = 'no_source_address';
/** unicast_fault_no_peer with an empty peer list: FAULT instead of multicast (docs/protocol.md#unicast-without-peers). */
export const NO_UNICAST_PEER = 'no_unicast_peer';
/**
 * The fault cause of a drained instance (`vrrpd drain`, docs/protocol.md#drain): FAULT like any other
 * cause, so a MASTER says goodbye with priority 0 and removes its VIPs, and nothing brings the
 * instance back but `vrrpd undrain`.
 */
export const DRAINED = 'drained';
/** A timer this late means the event loop stalled (log it; the guard works at any lateness). */
export const STALL_WARN_MS = 100;
/** A timer less late than this decides at once; later ones first read what waits in the sockets. */
export const ON_TIME_MS = 1;
/** event_loop_lag_ms covers the last one to two of these. */
const LAG_WINDOW_MS = 60_000;

export type { AdvertPath, NotifyCommands, NotifyState };

/** Everything the engine needs to run one instance; built from the validated config (plan.ts). */
export interface InstanceSpec {
  name: string;
  interfaceName: string;
  /**
   * sourceAddress 0 means "the interface's primary address", resolved from the facts handed to
   * start() or reload(). Trackers named `interface:NAME` follow link events.
   */
  core: InstanceConfig;
  vips: VipSpec[];
  /** notify_* commands; not part of the instance's identity (a change of them alone is "unchanged"). */
  notify: NotifyCommands;
  /** The track files it tracks, with the weight that applies (docs/protocol.md#track-files). */
  trackFiles?: readonly TrackFileRef[];
  /** keepalived's unicast_fault_no_peer: with no unicast peer the instance is FAULT, never multicast. */
  unicastFaultNoPeer?: boolean;
}

export interface TrackFileRef {
  name: string;
  weight: number;
  reverse: boolean;
}

/** A vrrp_track_file some instance tracks: the host watches it and hands its text to handleTrackFile. */
export interface TrackFilePlan {
  name: string;
  path: string;
  /** init_file: create the file holding `value` when missing (always, with overwrite). */
  init?: { value: number; overwrite: boolean };
}

/**
 * One health check (a vrrp_script some instance tracks). The engine keeps its rise/fall memory and
 * hands `probe` to the host unread; a reload restarts the check only when its plan changed.
 */
export interface CheckPlan {
  /** The tracker name, `script:NAME`. */
  name: string;
  intervalMs: number;
  timeoutMs: number;
  rise: number;
  fall: number;
  initFail: boolean;
  /** What the host runs (a command, a URL, ...): plain data, compared but never interpreted here. */
  probe: unknown;
}

/**
 * Which instances are drained: `all` (a drain without --instance; instances a reload adds later
 * start drained too) or the named ones. The shell keeps it in the state file (state.ts).
 */
export interface DrainState {
  all: boolean;
  instances: string[];
}

export const NOT_DRAINED: DrainState = { all: false, instances: [] };

export interface DaemonPlan {
  instances: InstanceSpec[];
  checks: CheckPlan[];
  trackFiles?: TrackFilePlan[];
  /** vrrp_sync_group blocks; every member names an instance of the plan, each in one group at most. */
  syncGroups?: SyncGroupSpec[];
  /** The UDP mirror (docs/protocol.md#udp-mirror): its port; the key stays with the shell. Absent = off. */
  mirror?: { port: number };
}

/** A vrrp_sync_group: instances that change state together (docs/protocol.md#sync-groups). */
export interface SyncGroupSpec {
  name: string;
  members: string[];
  /** The group's notify_* commands; `notify` gets `GROUP NAME STATE 0`. */
  notify: NotifyCommands;
}

export type SyncGroupState = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT';

export interface SyncGroupRuntime {
  spec: SyncGroupSpec;
  state: SyncGroupState;
}

/** The fault cause a sync group puts on its members while one of them has a fault of its own. */
export function syncGroupCause(group: string): string {
  return `sync_group:${group}`;
}

/** Which way a received advert came: IP protocol 112, or the authenticated UDP mirror. */
export type ReceivePath = 'vrrp' | 'udp';

/** Why the engine dropped a mirror datagram: the decoder's reasons, then its own two. */
export type MirrorDropReason = Extract<MirrorDecodeResult, { ok: false }>['reason'] | 'not_peer' | 'replay';

/**
 * A warning about a peer whose adverts arrive only over the mirror comes after this many of the
 * master's advert intervals without one over protocol 112 while the mirror's copies arrive.
 */
export const UDP_ONLY_INTERVALS = 3;
/** Senders whose last advert and paths an instance remembers (a unicast instance has at most 64 peers). */
const MAX_SENDERS_REMEMBERED = 64;

/** The mirror's part of `vrrpd status`. */
export interface MirrorStatus {
  port: number;
  /** Datagrams asked of the host (one per advert and peer). */
  sent: number;
  /** Datagrams that arrived on the port, whatever became of them. */
  received: number;
  /** Authentic, from a peer, counter above the last: handed to the instances as adverts. */
  accepted: number;
  /** Accepted adverts that had already come over protocol 112 (or the other way round): not handed on again. */
  duplicates: number;
  dropped: Partial<Record<MirrorDropReason, number>>;
  /** Times the receive floors could not be saved in the state directory (the running process still holds them). */
  floor_save_failures: number;
}

/** What the shell knows about an interface when it starts or reloads the engine. */
export interface InterfaceFacts {
  /** Primary IPv4 address, if any. */
  address: Ipv4 | undefined;
  /** The link-local IPv6 address (the source of IPv6 adverts), if any. */
  linkLocal6?: Ipv6 | undefined;
  /** UP and RUNNING (a missing interface is down). */
  up: boolean;
  /** The interface exists (up or not). */
  exists: boolean;
}

/** What the shell knows about the host when it starts or reloads the engine. */
export interface HostFacts {
  /** Every interface interfacesOf(plan) names. */
  interfaces: ReadonlyMap<string, InterfaceFacts>;
  /** The daemon's effective capabilities; undefined when the host cannot tell. */
  capabilities: Capabilities | undefined;
}

export type { HostFailure, Means };

/** An instance's identity in log lines. */
export interface LogContext {
  instance: string;
  vrid: number;
  interface: string;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** What the engine asks of the host, in order. */
export type HostCommand =
  /** `family` 6: the interface's IPv6 VRRP socket (ff02::12), next to its IPv4 one. Absent: 4. */
  | { type: 'open_transport'; ifname: string; multicast: boolean; family?: AddressFamily }
  | { type: 'close_transport'; ifname: string; family?: AddressFamily }
  /** The complete list of links to watch from now on (replaces the previous list). */
  | { type: 'watch_links'; names: string[] }
  | { type: 'send'; instance: string; ifname: string; priority: number; payload: Uint8Array; source: IpAddress; destinations: readonly IpAddress[]; family?: AddressFamily }
  /** The same advert again, sealed for the UDP mirror, to each unicast peer's mirror port (IPv4 instances). */
  | { type: 'mirror_send'; instance: string; payload: Uint8Array; source: Ipv4; destinations: readonly Ipv4[] }
  /** The complete set of addresses the mirror listens on (replaces the previous set; empty = none). */
  | { type: 'mirror_listen'; port: number; endpoints: readonly MirrorEndpoint[] }
  /**
   * Keep the mirror's receive floors in the state directory (replaces what is there): the highest
   * counter taken from each current peer. Comes right after a floor rose, before anything the
   * datagram's advert causes (docs/protocol.md#udp-mirror).
   */
  | { type: 'mirror_floors'; floors: ReadonlyMap<Ipv4, bigint> }
  | { type: 'add_vips'; instance: string; vips: readonly VipSpec[] }
  | { type: 'remove_vips'; instance: string; vips: readonly VipSpec[] }
  /** `why` says what triggered the burst (become_master, delayed, refresh, lower_priority_advert, vips_added). */
  /** A burst per address: gratuitous ARP for IPv4, unsolicited neighbour advertisement for IPv6 (the host picks by family). */
  | { type: 'garp'; instance: string; ifname: string; addresses: readonly IpAddress[]; repeat: number; why: string }
  /**
   * Ask the host, without claiming MASTER, whether the instance has the means (docs in means.ts):
   * vip_add removes the instance's VIPs (absent outside MASTER anyway; the same permission as adding
   * them), garp opens the AF_PACKET socket and sends nothing, source_address reads the interface's
   * address. The answer comes back through handleProbeResult.
   */
  | { type: 'probe'; instance: string; means: Means | 'source_address'; ifname: string; vips: readonly VipSpec[] }
  | { type: 'start_check'; check: CheckPlan }
  /**
   * Watch a track file and hand its text to handleTrackFile now and at every change. `initialise`:
   * what init_file may do now (at start: create, or overwrite with `overwrite`; at a reload only
   * create a missing file, as keepalived).
   */
  | { type: 'watch_file'; file: TrackFilePlan; initialise: 'start' | 'reload' }
  | { type: 'unwatch_file'; name: string }
  | { type: 'stop_check'; name: string }
  /** `group`: a sync group's notifies (`instance` is the group's name; `notify` gets GROUP, not INSTANCE). */
  | { type: 'notify'; instance: string; state: NotifyState; priority: number; commands: NotifyCommands; group?: true }
  /** A log line; a state change also carries it as data (`transition`), for whoever needs more than text. */
  | { type: 'log'; level: LogLevel; context: LogContext | undefined; fields: Record<string, unknown>; message: string; transition?: TransitionRecord };

/** One state change of one instance, as data. */
export interface TransitionRecord {
  instance: string;
  from: VrrpState;
  to: VrrpState;
  reason: TransitionReason;
  effectivePriority: number;
}

export type HostOperation = 'open_transport' | 'send' | 'mirror_send' | 'mirror_listen' | 'mirror_floors' | 'add_vips' | 'remove_vips' | 'garp' | 'probe' | 'start_check' | 'notify' | 'io';

/** What each operation is called in log lines. */
const OPERATION_WORDS: Record<HostOperation, string> = {
  open_transport: 'open the VRRP socket',
  send: 'send the advert',
  mirror_send: 'send the UDP mirror copy',
  mirror_listen: 'open the UDP mirror socket',
  mirror_floors: "save the UDP mirror's replay floors",
  add_vips: 'add virtual addresses',
  remove_vips: 'remove virtual addresses',
  garp: 'gratuitous ARP',
  probe: 'permission test',
  start_check: 'start the check',
  notify: 'notify',
  io: 'host io',
};

/** An internal step queued between commands: it runs once every command before it has been executed. */
interface Continuation {
  type: 'continue';
  run: (nowMs: number) => void;
}

export interface ReloadSummary {
  unchanged: string[];
  changed: string[];
  added: string[];
  removed: string[];
}

/** The engine's part of `vrrpd status`; the shell adds the process's own facts. */
export interface EngineStatus {
  event_loop_lag_ms: number;
  last_reload_error: string | null;
  instances: InstanceStatus[];
  interface_dropped: Record<string, Partial<Record<DropReason, number>>>;
  sync_groups: SyncGroupStatus[];
  /** null when the mirror is off. */
  udp_mirror: MirrorStatus | null;
}

export interface SyncGroupStatus {
  name: string;
  state: SyncGroupState;
  members: string[];
}

export interface TransitionCount {
  instance: string;
  from: string;
  to: string;
  reason: string;
  count: number;
}

function checkPlan(plan: DaemonPlan): void {
  if (plan.instances.length > MAX_INSTANCES) throw new Error(`at most ${MAX_INSTANCES} instances, got ${plan.instances.length}`);
  const seen = new Set<string>();
  const names = new Set<string>();
  for (const spec of plan.instances) {
    // IPv4 and IPv6 are separate VRID spaces (RFC 5798 5.2.3): one VRID may serve both on a link.
    const key = `${transportKey(spec.interfaceName, spec.core.family ?? 4)}/${spec.core.virtualRouterId}`;
    if (seen.has(key)) throw new Error(`VRID ${spec.core.virtualRouterId} is used twice on ${spec.interfaceName}${spec.core.family === 6 ? ' (IPv6)' : ''}`);
    if (names.has(spec.name)) throw new Error(`instance ${spec.name} is defined twice`);
    seen.add(key);
    names.add(spec.name);
  }
  const grouped = new Set<string>();
  for (const group of plan.syncGroups ?? []) {
    for (const member of group.members) {
      if (!names.has(member)) throw new Error(`sync group ${group.name}: no instance ${member}`);
      if (grouped.has(member)) throw new Error(`instance ${member} is in two sync groups`);
      grouped.add(member);
    }
  }
}

function describeVip(vip: VipSpec): string {
  return `${formatIp(vip.address)}/${vip.prefixLength} dev ${vip.ifname}`;
}

function sameVip(a: VipSpec, b: VipSpec): boolean {
  return describeVip(a) === describeVip(b) && a.label === b.label && a.broadcast === b.broadcast;
}

/** Structural equality (Uint8Array compared by content; an IPv6 address, a bigint, by value). */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (v instanceof Uint8Array ? Array.from(v) : typeof v === 'bigint' ? `${v}n` : v));
}

/** Two specs describe the same instance (notify commands aside: changing them changes nothing on the wire). */
export function sameSpec(a: InstanceSpec, b: InstanceSpec): boolean {
  return canonical({ ...a, notify: undefined }) === canonical({ ...b, notify: undefined });
}

function interfaceTrackers(core: InstanceConfig): string[] {
  const names: string[] = [];
  for (const tracker of core.trackers) {
    const parsed = parseTrackerName(tracker.name);
    if (parsed?.kind === 'interface') names.push(parsed.target);
  }
  return names;
}

export class InstanceRuntime {
  readonly machine: VrrpMachine;
  readonly context: LogContext;
  /** Transitions so far, keyed `from>to>reason`. */
  readonly transitionCounts = new Map<string, number>();
  destinations: readonly IpAddress[];
  /** When this instance's means faults are next re-tested; Infinity when it has none (means.ts). */
  retestAtMs = Number.POSITIVE_INFINITY;
  retestIntervalMs = RETEST_MS;
  /** Causes a re-test cleared: if one comes back, the re-test was not proof, so wait longer. */
  readonly clearedByRetest = new Set<string>();
  /** start() has run (instances wait for the host's answers to the start probes). */
  started = false;
  /** What each peer last advertised (status). */
  readonly peers: PeerTable;
  /** What arrived from each sender, by path (duplicates across paths, the UDP-only warning). */
  readonly senders = new Map<IpAddress, SenderPaths>();
  /** Episodes of "adverts only over the UDP mirror" (vrrpd_udp_only_warnings_total). */
  udpOnlyEpisodes = 0;

  constructor(
    public spec: InstanceSpec,
    core: InstanceConfig,
  ) {
    this.machine = new VrrpMachine(core);
    this.context = { instance: spec.name, vrid: core.virtualRouterId, interface: spec.interfaceName };
    this.destinations = destinationsOf(core, spec);
    this.peers = new PeerTable(core.unicastPeers);
  }

  get core(): InstanceConfig {
    return this.machine.config;
  }
}

function destinationsOf(core: InstanceConfig, spec: InstanceSpec): readonly IpAddress[] {
  if (core.unicastPeers.length > 0) return core.unicastPeers;
  if (spec.unicastFaultNoPeer === true) return [];
  return [core.family === 6 ? VRRP_IPV6_MULTICAST_GROUP : VRRP_MULTICAST_GROUP];
}

/** The instance must stay in FAULT for want of a peer (unicast_fault_no_peer). */
function lacksUnicastPeer(spec: InstanceSpec): boolean {
  return spec.unicastFaultNoPeer === true && spec.core.unicastPeers.length === 0;
}

/**
 * The key of an interface's transport and VRID table: the name for IPv4 (as before IPv6 existed, so
 * status and metrics keep their labels), `NAME/ipv6` for its IPv6 socket.
 */
export function transportKey(ifname: string, family: AddressFamily): string {
  return family === 6 ? `${ifname}/ipv6` : ifname;
}

/** "No address known": 0 for IPv4, 0n for IPv6. */
function unsetAddress(address: IpAddress | undefined): boolean {
  return address === undefined || address === 0 || address === 0n;
}

/** The last advert an instance took from one sender, and when each path last delivered one. */
interface SenderPaths {
  /** The VRRP message (no IP header) of the last advert the machine took, when, and over which path. */
  lastAdvert: Uint8Array;
  lastAtMs: number;
  lastPath: ReceivePath;
  lastVrrpMs?: number;
  lastUdpMs?: number;
  /** The first mirror copy since the last advert over protocol 112. */
  udpOnlySinceMs?: number;
  /** The UDP-only warning is on (counted and logged once per episode). */
  warned: boolean;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export interface InterfaceState {
  ifname: string;
  family: AddressFamily;
  multicast: boolean;
  byVrid: Map<number, InstanceRuntime>;
  /** Packets no instance could take, by reason (too_short, unknown_vrid). */
  dropped: Partial<Record<DropReason, number>>;
}

interface CheckRuntime {
  plan: CheckPlan;
  filter: RiseFallFilter;
}

export class Engine {
  protected readonly instances: InstanceRuntime[] = [];
  protected readonly interfaces = new Map<string, InterfaceState>();
  private readonly checks = new Map<string, CheckRuntime>();
  private watchedLinks: string[] = [];
  private readonly commands: (HostCommand | Continuation)[] = [];
  private commandHead = 0;
  /** The last means fault each interface's transport reported (inherited by instances added later). */
  private readonly transportFaults = new Map<string, string>();
  private readonly dropLog = new RateLimitedLog(DROP_LOG_WINDOW_MS);
  private readonly hostErrorLog = new RateLimitedLog(HOST_ERROR_LOG_WINDOW_MS);
  private started = false;
  private stopping = false;
  private drain: DrainState = NOT_DRAINED;
  /** Watched track files and the last value read from each (keepalived: 0 until read, missing = 0). */
  private readonly trackFiles = new Map<string, TrackFilePlan>();
  private readonly fileValues = new Map<string, number>();
  private lastReloadError: string | null = null;
  /** The mirror's port; undefined when it is off. */
  private mirrorPort: number | undefined;
  private mirrorEndpoints: MirrorEndpoint[] = [];
  private mirrorListenPort = 0;
  private readonly mirrorStats = { sent: 0, received: 0, accepted: 0, duplicates: 0, floorSaveFailures: 0, dropped: {} as Partial<Record<MirrorDropReason, number>> };
  /**
   * The highest counter accepted from each sender's mirror (the sender counts across all its
   * destinations, so one floor per sender address): anything at or below it is a replay. It starts
   * from what the previous run saved (restoreMirrorFloors) and is saved at every rise
   * (the mirror_floors command), so a restart does not let old datagrams in again.
   */
  private readonly mirrorFloors = new Map<Ipv4, bigint>();
  /** Timers that fired more than STALL_WARN_MS late. */
  private stalls = 0;
  /**
   * Event-loop lag as the protocol feels it: how late the shell's timer got to decide, the worst of
   * the current and the previous LAG_WINDOW_MS window. The timer runs at least once per advert
   * interval on a MASTER, so this costs nothing extra (a separate lag monitor would wake the
   * process 100 times a second).
   */
  private readonly lag = { windowStartMs: Number.NEGATIVE_INFINITY, currentMs: 0, previousMs: 0 };
  private syncGroups: SyncGroupRuntime[] = [];
  /** A sync group is moving its members: their own transitions must not move the group again. */
  private syncing = false;

  // --- outputs ---------------------------------------------------------------------------------

  /**
   * The next host command, in order; undefined when there is none. Execute it before polling again.
   * `nowMs` is the time of the poll: a step queued behind commands (an instance that starts once the
   * host has opened its socket) takes its time from when it runs, not from when it was queued.
   */
  pollCommand(nowMs: number): HostCommand | undefined {
    for (;;) {
      if (this.commandHead >= this.commands.length) {
        this.commands.length = 0;
        this.commandHead = 0;
        return undefined;
      }
      const next = this.commands[this.commandHead++] as HostCommand | Continuation;
      if (next.type !== 'continue') return next;
      next.run(nowMs);
    }
  }

  /** When handleTimer must be called next; Infinity when nothing is pending (or after shutdown). */
  nextDeadline(): number {
    if (this.stopping) return Number.POSITIVE_INFINITY;
    let earliest = Number.POSITIVE_INFINITY;
    for (const runtime of this.instances) {
      const due = Math.min(runtime.machine.nextDeadline(), runtime.retestAtMs);
      if (due < earliest) earliest = due;
    }
    return earliest;
  }

  // --- inputs ----------------------------------------------------------------------------------

  /**
   * Call once, with the validated plan and the facts of every interface it names
   * (interfacesOf(plan)). Throws, before anything is queued, on a plan that cannot run.
   */
  start(nowMs: number, plan: DaemonPlan, facts: HostFacts): void {
    if (this.started) throw new Error('engine already started');
    checkPlan(plan);
    this.started = true;
    this.syncGroups = (plan.syncGroups ?? []).map((spec) => ({ spec, state: 'INIT' }));
    this.mirrorPort = plan.mirror?.port;
    for (const check of plan.checks) this.startCheck(check);
    const fresh = plan.instances.map((spec) => this.addInstance(nowMs, spec, facts));
    // A fault known at start holds the whole group in FAULT before any member runs.
    for (const group of this.syncGroups) this.reconcileSyncGroup(nowMs, group, undefined);
    // Read before any instance starts (the host reads at once): a file saying FAULT is known first.
    this.syncTrackFiles(plan.trackFiles ?? [], 'start');
    // The capabilities can be there and the kernel still refuse (a user namespace, an LSM): ask
    // it, and open the sockets, before any instance can become MASTER.
    for (const runtime of fresh) {
      for (const means of RETESTED) if (!runtime.machine.faultCauses.includes(permissionCause(means))) this.probe(runtime, means);
    }
    this.syncInterfaces();
    this.push({
      type: 'continue',
      run: (startedMs) => {
        for (const runtime of fresh) this.startInstance(Math.max(startedMs, nowMs), runtime);
        this.log('info', undefined, { instances: this.instances.length, interfaces: [...this.interfaces.keys()] }, 'vrrpd started');
      },
    });
  }

  /**
   * Apply a new, already validated plan. Unchanged instances keep their state and VIPs (no flap, no
   * goodbye); changed ones are reconfigured in place (a new priority is used from the next advert,
   * VIPs that appeared or disappeared are added or removed while MASTER); removed instances stop as
   * on shutdown (a MASTER says goodbye); new ones start in BACKUP. Checks restart only when what they
   * run changed, so a running check keeps its rise/fall memory. Throws, before changing anything, on
   * a plan that cannot run.
   */
  reload(nowMs: number, plan: DaemonPlan, facts: HostFacts): ReloadSummary {
    if (!this.started || this.stopping) throw new Error('not running: reload ignored');
    checkPlan(plan);
    this.mirrorPort = plan.mirror?.port;
    this.reloadChecks(nowMs, plan.checks);
    this.syncTrackFiles(plan.trackFiles ?? [], 'reload');
    const previousGroups = new Map(this.syncGroups.map((g) => [g.spec.name, g]));
    this.syncGroups = (plan.syncGroups ?? []).map((spec) => ({ spec, state: previousGroups.get(spec.name)?.state ?? 'INIT' }));
    const summary: ReloadSummary = { unchanged: [], changed: [], added: [], removed: [] };
    const wanted = new Map(plan.instances.map((spec) => [spec.name, spec]));
    for (const runtime of [...this.instances]) {
      const next = wanted.get(runtime.spec.name);
      // Another interface or VRID is another virtual router: stop this one, start that one.
      if (next && next.interfaceName === runtime.spec.interfaceName && next.core.virtualRouterId === runtime.core.virtualRouterId) continue;
      this.apply(nowMs, runtime, runtime.machine.shutdown(nowMs));
      this.instances.splice(this.instances.indexOf(runtime), 1);
      summary.removed.push(runtime.spec.name);
    }
    const fresh: InstanceRuntime[] = [];
    for (const spec of plan.instances) {
      const runtime = this.instances.find((r) => r.spec.name === spec.name);
      if (!runtime) {
        fresh.push(this.addInstance(nowMs, spec, facts));
        summary.added.push(spec.name);
        continue;
      }
      if (sameSpec(runtime.spec, spec)) {
        runtime.spec = spec; // notify commands may have changed
        summary.unchanged.push(spec.name);
        continue;
      }
      this.reconfigure(nowMs, runtime, spec, facts);
      summary.changed.push(spec.name);
    }
    for (const runtime of this.instances) this.applyTrackFiles(nowMs, runtime);
    // Membership may have changed: gates follow it, and a cause of a group gone or left is cleared.
    for (const runtime of this.instances) {
      const group = this.syncGroupOf(runtime);
      runtime.machine.setSyncGate(group === undefined ? undefined : () => this.mayGoMaster(runtime));
      for (const cause of runtime.machine.faultCauses) {
        if (cause.startsWith('sync_group:') && (group === undefined || cause !== syncGroupCause(group.spec.name))) this.setFault(nowMs, runtime, cause, false);
      }
    }
    for (const group of this.syncGroups) this.reconcileSyncGroup(nowMs, group, undefined);
    this.syncInterfaces();
    // Instances added by a reload are judged by the capabilities only: probing them would remove
    // VIPs, and another running instance may hold the same ones.
    for (const runtime of fresh) this.startInstance(nowMs, runtime);
    this.lastReloadError = null;
    this.log('info', undefined, { ...summary }, 'configuration reloaded');
    return summary;
  }

  /** A reload was refused before it reached the engine (the new file is invalid): remember why for status. */
  refuseReload(errors: readonly string[]): void {
    this.lastReloadError = errors.join('; ');
    this.log('error', undefined, { errors }, 'reload refused: the new configuration is invalid; the running one stays');
  }

  /**
   * The drain as the state file says it at start: call before start(), so a drained instance is in
   * FAULT before its machine runs and never MASTER, not even for a moment.
   */
  restoreDrain(state: DrainState): void {
    if (this.started) throw new Error('restoreDrain must come before start');
    this.drain = { all: state.all, instances: [...state.instances] };
  }

  /**
   * The mirror's receive floors as the state directory kept them from the previous run: call before
   * start(), so the first datagram is already judged against them (docs/protocol.md#udp-mirror).
   */
  restoreMirrorFloors(floors: ReadonlyMap<Ipv4, bigint>): void {
    if (this.started) throw new Error('restoreMirrorFloors must come before start');
    this.mirrorFloors.clear();
    for (const [peer, counter] of floors) this.mirrorFloors.set(peer, counter);
  }

  get drainState(): DrainState {
    return { all: this.drain.all, instances: [...this.drain.instances] };
  }

  isDrained(instance: string): boolean {
    return this.drain.all || this.drain.instances.includes(instance);
  }

  /**
   * What `vrrpd drain [--instance NAME]` (drain true) or `vrrpd undrain [--instance NAME]` (false)
   * makes the drain state, without applying it: the shell saves it first (state.ts), then calls
   * applyDrain. Throws on an instance that does not exist. Undraining one instance of a drain of all
   * leaves the others drained by name.
   */
  nextDrain(drain: boolean, instance?: string): DrainState {
    if (instance !== undefined && !this.instances.some((r) => r.spec.name === instance)) {
      throw new Error(`no instance named '${instance}' (instances: ${this.instanceNames.join(', ') || 'none'})`);
    }
    const names = new Set(this.drain.all ? this.instanceNames : this.drain.instances);
    if (instance === undefined) return drain ? { all: true, instances: [] } : { all: false, instances: [] };
    if (drain) {
      if (this.drain.all) return this.drainState;
      names.add(instance);
    } else {
      names.delete(instance);
    }
    return { all: false, instances: [...names].sort() };
  }

  /**
   * Apply a drain state: each instance it covers gets the fault cause `drained` (a MASTER says
   * goodbye with priority 0 and removes its VIPs), each it no longer covers loses it (FAULT ->
   * BACKUP when nothing else holds it there; preempt does the rest). Returns the instances whose
   * drain changed.
   */
  applyDrain(nowMs: number, state: DrainState): { drained: string[]; undrained: string[] } {
    this.drain = { all: state.all, instances: [...state.instances] };
    const changed = { drained: [] as string[], undrained: [] as string[] };
    if (!this.started || this.stopping) return changed;
    for (const runtime of this.instances) {
      const want = this.isDrained(runtime.spec.name);
      if (runtime.machine.faultCauses.includes(DRAINED) === want) continue;
      (want ? changed.drained : changed.undrained).push(runtime.spec.name);
      this.log('info', runtime.context, { drained: want }, want ? 'drained: out of elections until vrrpd undrain' : 'undrained: back in elections');
      this.setFault(nowMs, runtime, DRAINED, want);
    }
    return changed;
  }

  /** Graceful stop: every MASTER says goodbye with priority 0 and removes its VIPs; checks and sockets close. */
  shutdown(nowMs: number): void {
    if (!this.started || this.stopping) return;
    this.stopping = true;
    this.syncing = true; // every member stops on its own; the group only says STOP
    for (const runtime of this.instances) this.apply(nowMs, runtime, runtime.machine.shutdown(nowMs));
    for (const group of this.syncGroups) {
      if (group.state !== 'INIT') this.pushGroupNotify(group, 'STOP');
    }
    for (const name of this.checks.keys()) this.push({ type: 'stop_check', name });
    this.checks.clear();
    for (const name of this.trackFiles.keys()) this.push({ type: 'unwatch_file', name });
    this.trackFiles.clear();
    for (const state of this.interfaces.values()) {
      this.push(state.family === 6 ? { type: 'close_transport', ifname: state.ifname, family: 6 } : { type: 'close_transport', ifname: state.ifname });
    }
    this.interfaces.clear();
    if (this.mirrorEndpoints.length > 0) this.push({ type: 'mirror_listen', port: this.mirrorPort ?? 0, endpoints: [] });
    this.mirrorEndpoints = [];
    if (this.watchedLinks.length > 0) this.push({ type: 'watch_links', names: [] });
    this.watchedLinks = [];
    this.log('info', undefined, {}, 'vrrpd stopped');
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  /**
   * Call with every packet a transport delivers (IPv4 header, or the IPv6 transport's rebuilt IPv6 header, included). `path` says how it came:
   * over protocol 112 (the transport) or out of the UDP mirror (handleMirrorDatagram rebuilds the
   * packet), so status can tell which path each peer's adverts take.
   *
   * The same advert over both paths is taken once: a copy whose VRRP bytes equal the advert the
   * instance took from that sender over the other path less than half an advert interval ago is
   * only noted (its path, the duplicates counter), never handed to the machine again. A second copy
   * would do little harm (it resets Master_Down a fraction of a millisecond later), but a MASTER
   * answers a lower priority with a GARP burst and counts a dual master per advert, and those must
   * not double (docs/protocol.md#udp-mirror).
   */
  handlePacket(nowMs: number, ifname: string, packet: Uint8Array, path: ReceivePath = 'vrrp'): void {
    if (this.stopping) return;
    // The IPv6 transport hands over a rebuilt IPv6 header: its version nibble picks the VRID table.
    const state = this.interfaces.get(transportKey(ifname, packet.length > 0 && (packet[0] as number) >>> 4 === 6 ? 6 : 4));
    if (!state) return;
    const peek = peekVirtualRouterId(packet);
    if (!peek.ok) {
      this.countInterfaceDrop(state, peek.reason);
      return;
    }
    const runtime = this.route(state, peek.virtualRouterId);
    if (!runtime) {
      this.countInterfaceDrop(state, 'unknown_vrid'); // keepalived drops these silently
      return;
    }
    const source = peek.ip.source;
    const message = packet.subarray(peek.ip.headerLength);
    const seen = runtime.senders.get(source);
    if (seen !== undefined && seen.lastPath !== path && nowMs - seen.lastAtMs < runtime.machine.masterAdverIntervalMs / 2 && sameBytes(seen.lastAdvert, message)) {
      this.mirrorStats.duplicates++;
      this.notePath(nowMs, runtime, source, seen, path);
      return;
    }
    const before = runtime.machine.stats.advertsReceived;
    this.apply(nowMs, runtime, runtime.machine.handlePacket(nowMs, packet), source);
    if (runtime.machine.stats.advertsReceived === before) return;
    runtime.peers.record(nowMs, source, packet, peek.ip.headerLength, path);
    const taken: SenderPaths = seen ?? { lastAdvert: message, lastAtMs: nowMs, lastPath: path, warned: false };
    taken.lastAdvert = Uint8Array.from(message);
    taken.lastAtMs = nowMs;
    taken.lastPath = path;
    // Bounded: unicast instances take adverts from their peers only, but a multicast one from
    // anyone on the link who knows the password; the oldest sender makes room.
    if (seen === undefined && runtime.senders.size >= MAX_SENDERS_REMEMBERED) runtime.senders.delete(runtime.senders.keys().next().value as IpAddress);
    runtime.senders.set(source, taken);
    this.notePath(nowMs, runtime, source, taken, path);
  }

  /**
   * Call with every datagram that arrived on a mirror socket (`endpoint`, the address it is bound
   * to), opened by the host with the key (`result`). The engine checks that the sender is a unicast
   * peer of an instance sending from that address and that the counter is above the last one taken
   * from it, then hands the advert on as if it had come over protocol 112: an IPv4 header from the
   * sender to our address, TTL 255, and the same checks and dispatch (handlePacket, path 'udp').
   * Drops are counted by reason and logged at most once per reason per window.
   */
  handleMirrorDatagram(nowMs: number, endpoint: MirrorEndpoint, source: Ipv4, result: MirrorDecodeResult): void {
    if (this.stopping || this.mirrorPort === undefined) return;
    this.mirrorStats.received++;
    if (!result.ok) {
      this.mirrorDrop(nowMs, result.reason, source);
      return;
    }
    const isPeer = this.instances.some(
      (r) => r.spec.interfaceName === endpoint.ifname && r.core.sourceAddress === endpoint.address && r.core.unicastPeers.includes(source),
    );
    if (!isPeer) {
      this.mirrorDrop(nowMs, 'not_peer', source);
      return;
    }
    const floor = this.mirrorFloors.get(source);
    if (floor !== undefined && result.counter <= floor) {
      this.mirrorDrop(nowMs, 'replay', source, `counter ${result.counter} <= ${floor}`);
      return;
    }
    this.mirrorFloors.set(source, result.counter);
    // Saved before the advert is handed on: the host runs commands in order, so the floor is in the
    // state directory before anything the advert causes happens, and a restart refuses it again.
    this.push({ type: 'mirror_floors', floors: this.peerFloors() });
    this.mirrorStats.accepted++;
    let packet: Uint8Array;
    try {
      packet = encodeIpv4Packet({ source, destination: endpoint.address }, result.advert);
    } catch {
      this.mirrorDrop(nowMs, 'too_long', source);
      return;
    }
    this.handlePacket(nowMs, endpoint.ifname, packet, 'udp');
  }

  /**
   * The shell's timer fired at nowMs for the deadline it was armed with. The stall guard: after a
   * stall (GC, a blocked disk, SIGSTOP) libuv runs due timers before it polls sockets, so a BACKUP
   * would declare the master dead although its adverts sit unread in the socket buffer. A timer on
   * time (under ON_TIME_MS late) decides at once: the loop was asleep until the deadline, and a
   * packet that came before it would have woken the loop and been handled first. A late one returns
   * 'read_sockets_first': the shell lets every waiting packet in (setImmediate runs after the next
   * poll phase) and then calls handleDeferredTimer.
   */
  handleTimer(nowMs: number, deadlineMs: number): 'decided' | 'read_sockets_first' {
    if (this.stopping) return 'decided';
    const lateMs = nowMs - deadlineMs;
    if (lateMs > STALL_WARN_MS) {
      this.stalls++;
      this.log('warn', undefined, { late_ms: Math.round(lateMs) }, 'event loop stalled: timer fired late; reading pending packets before deciding');
    }
    if (lateMs >= ON_TIME_MS) return 'read_sockets_first';
    this.decideTimers(nowMs, deadlineMs);
    return 'decided';
  }

  /** The second half of a late timer, once the packets that waited have been handled. */
  handleDeferredTimer(nowMs: number, deadlineMs: number): void {
    if (this.stopping) return;
    this.decideTimers(nowMs, deadlineMs);
  }

  /** A raw check result (every run, success or not); rise/fall decides what the instances see. */
  handleCheckResult(nowMs: number, name: string, ok: boolean, detail: string): void {
    if (this.stopping) return;
    const check = this.checks.get(name);
    if (!check) return; // a late result from a check a reload stopped
    const change = check.filter.record(ok);
    if (change === undefined) {
      if (!ok) this.log('debug', undefined, { tracker: name, detail, status: check.filter.status }, 'check failed');
      return;
    }
    this.log('info', undefined, { tracker: name, status: change, detail }, `tracker ${name} is ${change}`);
    this.setTrackerEverywhere(nowMs, name, change);
  }

  /**
   * A track file's text (read at the watch and at every change; '' when it is missing). A number out
   * of range is ignored, as keepalived does, and the previous value stays.
   */
  handleTrackFile(nowMs: number, name: string, text: string): void {
    if (this.stopping || !this.trackFiles.has(name)) return;
    const value = parseTrackFileValue(text);
    if (value === undefined) {
      this.log('warn', undefined, { track_file: name, text: text.slice(0, 64) }, `track file ${name}: invalid number read from ${this.trackFiles.get(name)!.path}; ignoring it`);
      return;
    }
    if (this.fileValues.get(name) === value) return;
    this.fileValues.set(name, value);
    this.log('info', undefined, { track_file: name, value }, `track file ${name} is ${value}`);
    for (const runtime of this.instances) {
      if (runtime.spec.trackFiles?.some((ref) => ref.name === name)) this.applyTrackFiles(nowMs, runtime);
    }
  }

  /** A watched link went up (UP and RUNNING) or down; `address` is the interface's primary address now. */
  handleLink(nowMs: number, ifname: string, up: boolean, address?: Ipv4, linkLocal6?: Ipv6): void {
    if (this.stopping) return;
    this.log('info', undefined, { interface: ifname, up }, up ? 'link up' : 'link down');
    if (up) for (const runtime of this.instancesOn(ifname)) this.resolveSourceAddress(nowMs, runtime, runtime.core.family === 6 ? linkLocal6 : address);
    this.setTrackerEverywhere(nowMs, interfaceTrackerName(ifname), up ? 'ok' : 'failed');
  }

  /**
   * Someone deleted an address. If it is a VIP of a MASTER, keepalived's answer applies: give the
   * VIPs up (BACKUP) and come back after one Skew_Time, which restores them, unless a better master
   * speaks first. Our own removals happen after the machine has left MASTER, so they never match.
   */
  handleAddressDeleted(nowMs: number, ifname: string, address: IpAddress): void {
    if (this.stopping) return;
    for (const runtime of this.instances) {
      if (runtime.machine.state !== 'MASTER') continue;
      if (!runtime.spec.vips.some((v) => v.ifname === ifname && v.address === address)) continue;
      this.log(
        'warn',
        runtime.context,
        { vip: formatIp(address), interface: ifname },
        'virtual address removed behind our back (NetworkManager?); giving the VIPs up and reclaiming them after Skew_Time',
      );
      this.apply(nowMs, runtime, runtime.machine.handleVirtualAddressesMissing(nowMs));
    }
  }

  /**
   * A command the host could not carry out: one line at most once a minute per instance, operation
   * and code, without a stack. A refused VIP add or GARP puts the instance in FAULT (means.ts): a
   * MASTER that cannot hold its VIP says goodbye, and the GARP queued behind a refused add never
   * goes out.
   */
  handleHostError(nowMs: number, operation: HostOperation, instance: string | undefined, failure: HostFailure): void {
    const runtime = instance === undefined ? undefined : this.instances.find((r) => r.spec.name === instance);
    const what = operation === 'io' ? failure.operation : OPERATION_WORDS[operation];
    // Floors that cannot be saved weaken only what a restart refuses: the running process holds them.
    if (operation === 'mirror_floors') this.mirrorStats.floorSaveFailures++;
    this.reportFailure(nowMs, runtime, operation === 'io' || operation === 'mirror_floors' ? 'warn' : 'error', `${instance ?? '-'}:${operation}:${failure.operation}:${failure.code}`, `${what} failed`, failure);
    if (runtime === undefined || this.stopping) return;
    const means = operation === 'add_vips' ? 'vip_add' : operation === 'garp' ? 'garp' : undefined;
    if (means === undefined) return;
    const cause = faultCauseOf(means, failure, runtime.spec.interfaceName);
    if (cause === undefined) return;
    if (means === 'vip_add') this.dropQueued((c) => c.type === 'garp' && c.instance === runtime.spec.name);
    this.setFault(nowMs, runtime, cause, true);
  }

  /** Any error of an interface's transport (opening, sending, the watchdog). Opening failures may FAULT. */
  handleTransportError(nowMs: number, ifname: string, failure: HostFailure, family: AddressFamily = 4): void {
    const key = transportKey(ifname, family);
    this.reportFailure(nowMs, undefined, 'warn', `transport:${key}:${failure.operation}:${failure.code}`, `${failure.operation} failed on ${ifname}`, failure, { interface: ifname, operation: failure.operation });
    if (this.stopping) return;
    const cause = faultCauseOf('transport', failure, ifname);
    if (cause === undefined) return;
    const previous = this.transportFaults.get(key);
    this.transportFaults.set(key, cause);
    for (const runtime of this.instancesOn(ifname, family)) {
      if (previous !== undefined && previous !== cause) this.setFault(nowMs, runtime, previous, false);
      this.setFault(nowMs, runtime, cause, true);
    }
  }

  /** A socket is open on ifname: the interface exists and we may use it. `facts` are the interface's now. */
  handleTransportOpen(nowMs: number, ifname: string, facts: InterfaceFacts, family: AddressFamily = 4): void {
    if (this.stopping) return;
    this.transportFaults.delete(transportKey(ifname, family));
    for (const runtime of this.instancesOn(ifname, family)) {
      for (const cause of clearedBySocketOpen(ifname)) this.setFault(nowMs, runtime, cause, false);
      // An interface that was missing at start had no address to take the source from.
      this.resolveSourceAddress(nowMs, runtime, family === 6 ? facts.linkLocal6 : facts.address);
    }
  }

  /**
   * The host's answer to a probe command: `failure` when it refused (only a permission failure
   * says anything about the means; anything else proves nothing either way), `address` for a
   * source_address probe.
   */
  handleProbeResult(nowMs: number, instance: string, means: Means | 'source_address', failure: HostFailure | undefined, address?: Ipv4, linkLocal6?: Ipv6): void {
    const runtime = this.instances.find((r) => r.spec.name === instance);
    if (runtime === undefined || this.stopping) return;
    if (means === 'source_address') {
      this.resolveSourceAddress(nowMs, runtime, runtime.core.family === 6 ? linkLocal6 : address);
      return;
    }
    const cause = permissionCause(means);
    if (failure !== undefined) {
      if (!isPermissionFailure(failure)) return;
      this.reportFailure(nowMs, runtime, 'error', `${instance}:probe:${means}:${failure.code}`, means === 'vip_add' ? 'virtual address permission test failed' : 'gratuitous ARP permission test failed', failure);
      this.setFault(nowMs, runtime, cause, true);
      return;
    }
    if (runtime.machine.faultCauses.includes(cause)) {
      runtime.clearedByRetest.add(cause);
      this.log('info', runtime.context, { cause }, `${cause} cleared: the kernel allows it now`);
      this.setFault(nowMs, runtime, cause, false);
    }
  }

  // --- reading ---------------------------------------------------------------------------------

  /** The interfaces whose facts start() and reload() need: every instance's own and tracked ones. */
  static interfacesOf(plan: DaemonPlan): string[] {
    const names = new Set<string>();
    for (const spec of plan.instances) {
      names.add(spec.interfaceName);
      for (const ifname of interfaceTrackers(spec.core)) names.add(ifname);
    }
    return [...names];
  }

  /** The machine of an instance (status, the simulator's checkers); undefined when there is none. */
  machine(name: string): VrrpMachine | undefined {
    return this.instances.find((r) => r.spec.name === name)?.machine;
  }

  /** An instance's VIPs (what `vrrpd drain` waits to see gone); empty for an unknown name. */
  instanceVips(name: string): readonly VipSpec[] {
    return this.instances.find((r) => r.spec.name === name)?.spec.vips ?? [];
  }

  get instanceNames(): string[] {
    return this.instances.map((r) => r.spec.name);
  }

  /** The filtered status of a check (`script:NAME`), as the instances see it. */
  checkStatus(name: string): TrackerStatus | undefined {
    return this.checks.get(name)?.filter.status;
  }

  stallCount(): number {
    return this.stalls;
  }

  /** The worst timer lateness of the last one to two minutes, in whole ms. */
  eventLoopLagMs(nowMs: number): number {
    const { windowStartMs, currentMs, previousMs } = this.lag;
    if (nowMs - windowStartMs >= 2 * LAG_WINDOW_MS) return 0;
    return Math.round(nowMs - windowStartMs >= LAG_WINDOW_MS ? currentMs : Math.max(currentMs, previousMs));
  }

  transitionCounts(): TransitionCount[] {
    return this.instances.flatMap((r) =>
      [...r.transitionCounts].map(([key, count]) => {
        const [from = '', to = '', reason = ''] = key.split('>');
        return { instance: r.spec.name, from, to, reason, count };
      }),
    );
  }

  secondsSinceLastAdvert(nowMs: number, instance: string): number | undefined {
    const at = this.machine(instance)?.lastAdvertReceivedMs;
    return at === undefined ? undefined : (nowMs - at) / 1000;
  }

  /** `wallTime` turns a monotonic time into the ISO wall time people read (the shell owns the wall clock). */
  status(nowMs: number, wallTime: (monotonicMs: number) => string): EngineStatus {
    return {
      event_loop_lag_ms: this.eventLoopLagMs(nowMs),
      last_reload_error: this.lastReloadError,
      instances: this.instances.map((r) => {
        const group = this.syncGroupOf(r);
        return {
          ...instanceStatus(r, nowMs, wallTime, this.isDrained(r.spec.name)),
          sync_group: group === undefined ? null : { name: group.spec.name, state: group.state },
          warnings: this.warnings(nowMs, r.spec.name),
          udp_only_warnings: r.udpOnlyEpisodes,
        };
      }),
      interface_dropped: Object.fromEntries([...this.interfaces].map(([ifname, state]) => [ifname, { ...state.dropped }])),
      sync_groups: this.syncGroups.map((g) => ({ name: g.spec.name, state: g.state, members: [...g.spec.members] })),
      udp_mirror:
        this.mirrorPort === undefined
          ? null
          : { port: this.mirrorPort, sent: this.mirrorStats.sent, received: this.mirrorStats.received, accepted: this.mirrorStats.accepted, duplicates: this.mirrorStats.duplicates, dropped: { ...this.mirrorStats.dropped }, floor_save_failures: this.mirrorStats.floorSaveFailures },
    };
  }

  /**
   * An instance's warnings now: each sender whose adverts have come only over the UDP mirror for
   * UDP_ONLY_INTERVALS of its advert intervals, while they still come.
   */
  warnings(nowMs: number, name: string): string[] {
    const runtime = this.instances.find((r) => r.spec.name === name);
    if (runtime === undefined) return [];
    const window = UDP_ONLY_INTERVALS * runtime.machine.masterAdverIntervalMs;
    const out: string[] = [];
    for (const [source, paths] of runtime.senders) {
      if (!paths.warned || paths.lastUdpMs === undefined || nowMs - paths.lastUdpMs > window) continue;
      out.push(`adverts from ${formatIp(source)} arrive only over the UDP mirror: protocol 112 is being dropped`);
    }
    return out;
  }

  // --- dispatch (protected: the simulator's planted-bug test overrides it) ---------------------

  /** The instance a packet for `vrid` on this interface belongs to. */
  protected route(state: InterfaceState, vrid: number): InstanceRuntime | undefined {
    return state.byVrid.get(vrid);
  }

  // --- internals -------------------------------------------------------------------------------

  private push(command: HostCommand | Continuation): void {
    this.commands.push(command);
  }

  /** A sender's advert came over `path`: keep the times the UDP-only warning is judged by. */
  private notePath(nowMs: number, runtime: InstanceRuntime, source: IpAddress, paths: SenderPaths, path: ReceivePath): void {
    if (path === 'vrrp') {
      paths.lastVrrpMs = nowMs;
      paths.udpOnlySinceMs = undefined;
      if (paths.warned) this.log('info', runtime.context, { peer: formatIp(source) }, `adverts from ${formatIp(source)} arrive over protocol 112 again`);
      paths.warned = false;
      return;
    }
    paths.lastUdpMs = nowMs;
    paths.udpOnlySinceMs ??= nowMs;
    if (paths.warned || nowMs - paths.udpOnlySinceMs < UDP_ONLY_INTERVALS * runtime.machine.masterAdverIntervalMs) return;
    paths.warned = true;
    runtime.udpOnlyEpisodes++;
    this.log('warn', runtime.context, { peer: formatIp(source) }, `adverts from ${formatIp(source)} arrive only over the UDP mirror: protocol 112 is being dropped`);
  }

  private mirrorDrop(nowMs: number, reason: MirrorDropReason, source: IpAddress, detail?: string): void {
    this.mirrorStats.dropped[reason] = (this.mirrorStats.dropped[reason] ?? 0) + 1;
    const suppressed = this.dropLog.admit(`mirror:${reason}`, nowMs);
    if (suppressed === undefined) return;
    this.log('warn', undefined, { reason, source: formatIp(source), ...(detail === undefined ? {} : { detail }), suppressed, total: this.mirrorStats.dropped[reason] }, `dropped UDP mirror datagram: ${reason}`);
  }

  /**
   * The floors worth keeping across a restart: those of the current unicast peers (an address a
   * reload removed is refused as not_peer anyway; its floor stays in memory should it come back).
   */
  private peerFloors(): Map<Ipv4, bigint> {
    const peers = new Set<IpAddress>();
    for (const runtime of this.instances) for (const peer of runtime.core.unicastPeers) peers.add(peer);
    const out = new Map<Ipv4, bigint>();
    for (const [peer, counter] of this.mirrorFloors) if (peers.has(peer)) out.set(peer, counter);
    return out;
  }

  /**
   * Each advert to unicast peers goes to their mirror port too, right behind the protocol 112 copy.
   * IPv4 instances only: the mirror's datagram names IPv4 addresses (docs/protocol.md#udp-mirror).
   */
  private mirrorSend(runtime: InstanceRuntime, payload: Uint8Array, destinations: readonly IpAddress[]): void {
    const source = runtime.core.sourceAddress;
    if (this.mirrorPort === undefined || runtime.core.family === 6 || typeof source !== 'number' || runtime.core.unicastPeers.length === 0 || source === 0) return;
    const peers = destinations.filter((d): d is Ipv4 => typeof d === 'number');
    this.mirrorStats.sent += peers.length;
    this.push({ type: 'mirror_send', instance: runtime.spec.name, payload, source, destinations: peers });
  }

  /** The mirror listens on every address a unicast instance sends from (none when it is off). */
  private syncMirror(): void {
    const endpoints: MirrorEndpoint[] = [];
    if (this.mirrorPort !== undefined && !this.stopping) {
      for (const runtime of this.instances) {
        const address = runtime.core.sourceAddress;
        if (typeof address !== 'number' || runtime.core.unicastPeers.length === 0 || address === 0 || endpoints.some((e) => e.address === address)) continue;
        endpoints.push({ ifname: runtime.spec.interfaceName, address });
      }
    }
    const port = this.mirrorPort ?? 0;
    if (canonical({ port, endpoints }) === canonical({ port: this.mirrorListenPort, endpoints: this.mirrorEndpoints })) return;
    if (endpoints.length === 0 && this.mirrorEndpoints.length === 0) return;
    this.mirrorEndpoints = endpoints;
    this.mirrorListenPort = port;
    this.push({ type: 'mirror_listen', port, endpoints });
  }

  private log(level: LogLevel, context: LogContext | undefined, fields: Record<string, unknown>, message: string): void {
    this.push({ type: 'log', level, context, fields, message });
  }

  private decideTimers(nowMs: number, deadlineMs: number): void {
    this.recordLag(nowMs, nowMs - deadlineMs);
    // Deadlines less than TIMER_EARLY_TOLERANCE_MS ahead are due too, by the scheduler's own rule:
    // re-arming for them would make each about 1 ms late (Node's shortest timer) instead of a
    // fraction early, one timer per instance when there are many.
    const due: [InstanceRuntime, Action[]][] = [];
    for (const runtime of this.instances) {
      const deadline = runtime.machine.nextDeadline();
      if (deadline - nowMs < TIMER_EARLY_TOLERANCE_MS) due.push([runtime, runtime.machine.handleTimeout(Math.max(nowMs, deadline))]);
    }
    // Every advert of the firing leaves before any instance's VIP or GARP work: adding 255 VIPs and
    // sending their GARP bursts takes the host tens of ms, and the adverts of the instances behind
    // would wait for it (bench:scale). Each instance keeps its own order: its advert first, then
    // its VIPs, then the GARP that announces them.
    for (const [runtime, actions] of due) {
      let leading = 0;
      while (leading < actions.length && actions[leading]!.type === 'send_advert') leading++;
      this.apply(nowMs, runtime, actions.slice(0, leading));
      actions.splice(0, leading);
    }
    for (const [runtime, actions] of due) this.apply(nowMs, runtime, actions);
    this.retestMeans(nowMs);
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

  private startCheck(plan: CheckPlan): void {
    const filter = new RiseFallFilter({ rise: plan.rise, fall: plan.fall, initFail: plan.initFail });
    this.checks.set(plan.name, { plan, filter });
    this.push({ type: 'start_check', check: plan });
  }

  private reloadChecks(nowMs: number, plans: readonly CheckPlan[]): void {
    const wanted = new Map(plans.map((plan) => [plan.name, plan]));
    for (const [name, check] of [...this.checks]) {
      const next = wanted.get(name);
      if (next && canonical(next) === canonical(check.plan)) continue;
      this.push({ type: 'stop_check', name });
      this.checks.delete(name);
    }
    for (const plan of plans) {
      if (this.checks.has(plan.name)) continue;
      this.startCheck(plan);
      // A restarted check begins unknown, so instances keep what they knew until its first result;
      // an init_fail check begins failed, and that applies at once.
      if (plan.initFail) this.setTrackerEverywhere(nowMs, plan.name, 'failed');
    }
  }

  /** unicast_src_ip / mcast_src_ip, else the interface's primary IPv4 address (IPv6: its link-local one). */
  private sourceAddressFor(spec: InstanceSpec, facts: HostFacts): IpAddress {
    if (!unsetAddress(spec.core.sourceAddress)) return spec.core.sourceAddress;
    const known = facts.interfaces.get(spec.interfaceName);
    return spec.core.family === 6 ? (known?.linkLocal6 ?? 0n) : (known?.address ?? 0);
  }

  /** Create and register one instance with the faults known now; startInstance() starts it. */
  private addInstance(nowMs: number, spec: InstanceSpec, facts: HostFacts): InstanceRuntime {
    const sourceAddress = this.sourceAddressFor(spec, facts);
    const runtime = new InstanceRuntime(spec, { ...spec.core, sourceAddress });
    const machine = runtime.machine;
    if (this.syncGroupOf(runtime) !== undefined) machine.setSyncGate(() => this.mayGoMaster(runtime));
    if (unsetAddress(sourceAddress)) machine.setFault(nowMs, NO_SOURCE_ADDRESS, true);
    if (lacksUnicastPeer(spec)) machine.setFault(nowMs, NO_UNICAST_PEER, true);
    if (this.isDrained(spec.name)) machine.setFault(nowMs, DRAINED, true);
    this.applyTrackFiles(nowMs, runtime);
    const means = { capabilities: facts.capabilities, interfaceExists: (ifname: string) => facts.interfaces.get(ifname)?.exists !== false };
    for (const cause of startFaults(spec, means)) machine.setFault(nowMs, cause, true);
    for (const tracker of runtime.core.trackers) {
      const parsed = parseTrackerName(tracker.name);
      if (parsed?.kind === 'interface') {
        machine.setTrackerStatus(nowMs, tracker.name, facts.interfaces.get(parsed.target)?.up === true ? 'ok' : 'failed');
        continue;
      }
      const known = this.checks.get(tracker.name)?.filter.status;
      if (known !== undefined && known !== 'unknown') machine.setTrackerStatus(nowMs, tracker.name, known);
    }
    this.instances.push(runtime);
    return runtime;
  }

  /** Watch what the plan names, stop watching what it no longer does (a changed file is watched anew). */
  private syncTrackFiles(plans: readonly TrackFilePlan[], when: 'start' | 'reload'): void {
    const wanted = new Map(plans.map((plan) => [plan.name, plan]));
    for (const [name, current] of [...this.trackFiles]) {
      const next = wanted.get(name);
      if (next && canonical(next) === canonical(current)) continue;
      this.push({ type: 'unwatch_file', name });
      this.trackFiles.delete(name);
      this.fileValues.delete(name);
    }
    for (const plan of plans) {
      if (this.trackFiles.has(plan.name)) continue;
      this.trackFiles.set(plan.name, plan);
      this.push({ type: 'watch_file', file: plan, initialise: when });
    }
  }

  /**
   * Make an instance's track-file faults and priority offsets match the last values read
   * (keepalived's rules in src/core/track-file.ts); a file not read yet counts as 0, as a missing
   * file does in keepalived.
   */
  private applyTrackFiles(nowMs: number, runtime: InstanceRuntime): void {
    const refs = runtime.spec.trackFiles ?? [];
    const keys = new Set(refs.map((ref) => trackFileCause(ref.name)));
    const machine = runtime.machine;
    for (const key of machine.priorityOffsetKeys) if (!keys.has(key)) this.apply(nowMs, runtime, machine.setPriorityOffset(nowMs, key, undefined));
    for (const cause of machine.faultCauses) if (cause.startsWith('file:') && !keys.has(cause)) this.setFault(nowMs, runtime, cause, false);
    for (const ref of refs) {
      const key = trackFileCause(ref.name);
      const effect = trackFileEffect(this.fileValues.get(ref.name) ?? 0, ref.weight, ref.reverse);
      if (effect === 'fault') {
        this.apply(nowMs, runtime, machine.setPriorityOffset(nowMs, key, undefined));
        this.setFault(nowMs, runtime, key, true);
      } else {
        // The new priority first, so an instance leaving FAULT already advertises it.
        this.apply(nowMs, runtime, machine.setPriorityOffset(nowMs, key, effect));
        this.setFault(nowMs, runtime, key, false);
      }
    }
  }

  private startInstance(nowMs: number, runtime: InstanceRuntime): void {
    if (!this.instances.includes(runtime) || this.stopping) return;
    // A transport opened earlier (another instance on the interface) already knows its fault.
    const transportFault = this.transportFaults.get(transportKey(runtime.spec.interfaceName, runtime.core.family ?? 4));
    if (transportFault !== undefined) runtime.machine.setFault(nowMs, transportFault, true);
    runtime.started = true;
    this.apply(nowMs, runtime, runtime.machine.start(nowMs));
    this.scheduleRetest(nowMs, runtime);
  }

  /** The instances on ifname; with `family`, only those of that family (its transport's). */
  private instancesOn(ifname: string, family?: AddressFamily): InstanceRuntime[] {
    return this.instances.filter((r) => r.spec.interfaceName === ifname && (family === undefined || (r.core.family ?? 4) === family));
  }

  /** Set or clear an external fault cause; a cause that returns after a re-test cleared it doubles the re-test interval. */
  private setFault(nowMs: number, runtime: InstanceRuntime, cause: string, active: boolean): void {
    if (active && runtime.clearedByRetest.delete(cause)) runtime.retestIntervalMs = Math.min(2 * runtime.retestIntervalMs, RETEST_MAX_MS);
    if (runtime.machine.faultCauses.includes(cause) !== active) this.apply(nowMs, runtime, runtime.machine.setFault(nowMs, cause, active));
    if (runtime.started) this.scheduleRetest(nowMs, runtime);
  }

  /** Source 0 ("the interface's address") is resolved again when it could not be at start. */
  private resolveSourceAddress(nowMs: number, runtime: InstanceRuntime, address: IpAddress | undefined): void {
    if (!unsetAddress(runtime.spec.core.sourceAddress) || !unsetAddress(runtime.core.sourceAddress)) return;
    if (address === undefined || unsetAddress(address) || familyOf(address) !== (runtime.core.family ?? 4)) return;
    this.apply(nowMs, runtime, runtime.machine.reconfigure(nowMs, { ...runtime.core, sourceAddress: address }));
    this.setFault(nowMs, runtime, NO_SOURCE_ADDRESS, false);
    this.syncMirror();
  }

  private scheduleRetest(nowMs: number, runtime: InstanceRuntime): void {
    const causes = runtime.machine.faultCauses;
    const retest = causes.includes(NO_SOURCE_ADDRESS) || RETESTED.some((m) => causes.includes(permissionCause(m)));
    if (!retest) runtime.retestAtMs = Number.POSITIVE_INFINITY;
    else if (!Number.isFinite(runtime.retestAtMs)) runtime.retestAtMs = nowMs + runtime.retestIntervalMs;
  }

  /** Re-test the instances whose time has come (their causes are in means.ts's table). */
  private retestMeans(nowMs: number): void {
    for (const runtime of this.instances) {
      if (runtime.retestAtMs - nowMs >= TIMER_EARLY_TOLERANCE_MS) continue;
      runtime.retestAtMs = Number.POSITIVE_INFINITY;
      const causes = runtime.machine.faultCauses;
      if (causes.includes(NO_SOURCE_ADDRESS)) this.probe(runtime, 'source_address');
      for (const means of RETESTED) if (causes.includes(permissionCause(means))) this.probe(runtime, means);
      this.scheduleRetest(nowMs, runtime);
    }
  }

  private probe(runtime: InstanceRuntime, means: Means | 'source_address'): void {
    this.push({ type: 'probe', instance: runtime.spec.name, means, ifname: runtime.spec.interfaceName, vips: runtime.spec.vips });
  }

  /** Remove queued, not yet executed commands that no longer make sense (a GARP behind a refused add). */
  private dropQueued(matches: (command: HostCommand) => boolean): void {
    for (let i = this.commands.length - 1; i >= this.commandHead; i--) {
      const queued = this.commands[i] as HostCommand | Continuation;
      if (queued.type !== 'continue' && matches(queued)) this.commands.splice(i, 1);
    }
  }

  private reportFailure(
    nowMs: number,
    runtime: InstanceRuntime | undefined,
    level: 'warn' | 'error',
    key: string,
    what: string,
    failure: HostFailure,
    extra: Record<string, unknown> = { operation: what.replace(/ failed$/, '') },
  ): void {
    const suppressed = this.hostErrorLog.admit(key, nowMs);
    if (suppressed === undefined) return;
    this.log(level, runtime?.context, { ...extra, code: failure.code, error: failure.message, suppressed }, `${what}: ${failure.code}`);
  }

  private reconfigure(nowMs: number, runtime: InstanceRuntime, spec: InstanceSpec, facts: HostFacts): void {
    const before = runtime.spec.vips;
    runtime.spec = spec;
    const core = { ...spec.core, sourceAddress: this.sourceAddressFor(spec, facts) };
    // A MASTER whose last peer went says goodbye to the peers it had, then stays in FAULT.
    if (lacksUnicastPeer(spec)) this.setFault(nowMs, runtime, NO_UNICAST_PEER, true);
    runtime.destinations = destinationsOf(core, spec);
    runtime.peers.setConfigured(core.unicastPeers);
    this.apply(nowMs, runtime, runtime.machine.reconfigure(nowMs, core));
    this.setFault(nowMs, runtime, NO_SOURCE_ADDRESS, unsetAddress(core.sourceAddress));
    this.setFault(nowMs, runtime, NO_UNICAST_PEER, lacksUnicastPeer(spec));
    if (runtime.machine.state !== 'MASTER') return;
    const gone = before.filter((v) => !spec.vips.some((w) => sameVip(v, w)));
    const fresh = spec.vips.filter((v) => !before.some((w) => sameVip(v, w)));
    if (gone.length > 0) this.push({ type: 'remove_vips', instance: spec.name, vips: gone });
    if (fresh.length > 0) {
      this.push({ type: 'add_vips', instance: spec.name, vips: fresh });
      this.push({ type: 'garp', instance: spec.name, ifname: spec.interfaceName, addresses: fresh.map((v) => v.address), repeat: core.garpMasterRepeat, why: 'vips_added' });
    }
  }

  /**
   * Make the per-interface transports and the VRID tables match the instances: open what is new
   * (or whose multicast need changed), close what nobody uses, and watch every tracked link.
   */
  private syncInterfaces(): void {
    const needed = new Map<string, { ifname: string; family: AddressFamily; multicast: boolean; instances: InstanceRuntime[] }>();
    for (const runtime of this.instances) {
      const family = runtime.core.family ?? 4;
      const key = transportKey(runtime.spec.interfaceName, family);
      const entry = needed.get(key) ?? { ifname: runtime.spec.interfaceName, family, multicast: false, instances: [] };
      entry.multicast ||= runtime.core.unicastPeers.length === 0 && runtime.spec.unicastFaultNoPeer !== true;
      entry.instances.push(runtime);
      needed.set(key, entry);
    }
    for (const [key, state] of this.interfaces) {
      const want = needed.get(key);
      if (!want || want.multicast !== state.multicast) {
        this.push(state.family === 6 ? { type: 'close_transport', ifname: state.ifname, family: 6 } : { type: 'close_transport', ifname: state.ifname });
        this.interfaces.delete(key);
      }
    }
    for (const [key, want] of needed) {
      let state = this.interfaces.get(key);
      if (!state) {
        const { ifname, family, multicast } = want;
        this.push(family === 6 ? { type: 'open_transport', ifname, multicast, family: 6 } : { type: 'open_transport', ifname, multicast });
        state = { ifname, family, multicast, byVrid: new Map(), dropped: {} };
        this.interfaces.set(key, state);
      }
      state.byVrid = new Map(want.instances.map((r) => [r.core.virtualRouterId, r]));
    }
    const watched = [...new Set(this.instances.flatMap((r) => interfaceTrackers(r.core)))].sort();
    if (watched.join(',') !== this.watchedLinks.join(',')) {
      this.watchedLinks = watched;
      this.push({ type: 'watch_links', names: watched });
    }
    this.syncMirror();
  }

  /**
   * Set a tracker's status in every instance that tracks it. Check results are remembered by their
   * check, so instances started later (at a reload) begin with the last status instead of unknown.
   */
  private setTrackerEverywhere(nowMs: number, tracker: string, status: TrackerStatus): void {
    for (const runtime of this.instances) {
      if (runtime.machine.getTrackerStatus(tracker) === undefined) continue;
      this.apply(nowMs, runtime, runtime.machine.setTrackerStatus(nowMs, tracker, status));
    }
  }

  private countInterfaceDrop(state: InterfaceState, reason: DropReason): void {
    state.dropped[reason] = (state.dropped[reason] ?? 0) + 1;
  }

  /** Turn a machine's actions into host commands, in order. */
  private apply(nowMs: number, runtime: InstanceRuntime, actions: readonly Action[], packetSource?: IpAddress): void {
    this.applyActions(nowMs, runtime, actions, packetSource);
    // Any change of a member (a transition, a fault cause that came or went) may move its group.
    const group = this.syncGroupOf(runtime);
    if (group !== undefined && runtime.started) {
      let moved: VrrpState | undefined;
      for (const action of actions) if (action.type === 'transition') moved = action.to;
      this.reconcileSyncGroup(nowMs, group, moved === undefined ? undefined : { runtime, to: moved });
    }
  }

  private applyActions(nowMs: number, runtime: InstanceRuntime, actions: readonly Action[], packetSource?: IpAddress): void {
    const spec = runtime.spec;
    const family6 = runtime.core.family === 6 ? ({ family: 6 } as const) : {};
    for (const action of actions) {
      switch (action.type) {
        case 'send_advert': {
          const source = runtime.core.sourceAddress;
          if (!action.perDestination) {
            this.push({ type: 'send', instance: spec.name, ifname: spec.interfaceName, priority: action.priority, payload: action.payload, source, destinations: runtime.destinations, ...family6 });
            this.mirrorSend(runtime, action.payload, runtime.destinations);
            break;
          }
          // VRRPv3 unicast: the pseudo-header holds the destination, so each peer's copy carries its
          // own checksum (keepalived patches it per peer too; docs/protocol.md#vrrpv3-checksum).
          for (const destination of runtime.destinations) {
            const payload = withV3Checksum(action.payload, { source, destination });
            this.push({ type: 'send', instance: spec.name, ifname: spec.interfaceName, priority: action.priority, payload, source, destinations: [destination], ...family6 });
            this.mirrorSend(runtime, payload, [destination]);
          }
          break;
        }
        case 'add_vips':
          this.push({ type: 'add_vips', instance: spec.name, vips: spec.vips });
          break;
        case 'remove_vips':
          this.push({ type: 'remove_vips', instance: spec.name, vips: spec.vips });
          break;
        case 'garp':
          // Announce what add_vips added (spec.vips), not only what the advert carries: the host
          // picks ARP or NA per address, so a VIP of either family is announced.
          this.push({ type: 'garp', instance: spec.name, ifname: spec.interfaceName, addresses: spec.vips.map((v) => v.address), repeat: runtime.core.garpMasterRepeat, why: action.why });
          break;
        case 'transition': {
          const key = `${action.from}>${action.to}>${action.reason}`;
          runtime.transitionCounts.set(key, (runtime.transitionCounts.get(key) ?? 0) + 1);
          this.push({
            type: 'log',
            level: 'info',
            context: runtime.context,
            fields: {
              from: action.from,
              to: action.to,
              reason: action.reason,
              effective_priority: action.effectivePriority,
              master: action.masterAddress === undefined ? null : formatIp(action.masterAddress),
              ...(action.to === 'FAULT' ? { fault_causes: runtime.machine.faultCauses } : {}),
            },
            message: `${action.from} -> ${action.to} (${action.reason}${action.to === 'FAULT' ? `: ${runtime.machine.faultCauses.join(', ')}` : ''})`,
            transition: { instance: spec.name, from: action.from, to: action.to, reason: action.reason, effectivePriority: action.effectivePriority },
          });
          this.push({ type: 'notify', instance: spec.name, state: notifyState(action.to), priority: action.effectivePriority, commands: spec.notify });
          break;
        }
        case 'drop': {
          const suppressed = this.dropLog.admit(`${spec.name}:${action.reason}`, nowMs);
          if (suppressed !== undefined) {
            const source = action.source ?? packetSource;
            this.log(
              'warn',
              runtime.context,
              { reason: action.reason, source: source === undefined ? null : formatIp(source), detail: action.detail, suppressed, total: runtime.machine.stats.dropped[action.reason] },
              `dropped advert: ${action.reason}`,
            );
          }
          break;
        }
        case 'log':
          this.log(action.level, runtime.context, { event: action.event, detail: action.detail }, action.event);
          break;
      }
    }
  }

  // --- sync groups (docs/protocol.md#sync-groups) ------------------------------------------------

  private syncGroupOf(runtime: InstanceRuntime): SyncGroupRuntime | undefined {
    return this.syncGroups.find((g) => g.spec.members.includes(runtime.spec.name));
  }

  private membersOf(group: SyncGroupRuntime): InstanceRuntime[] {
    return this.instances.filter((r) => group.spec.members.includes(r.spec.name));
  }

  /** keepalived's vrrp_sync_can_goto_master: the group is MASTER already, or every other member wants MASTER. */
  private mayGoMaster(runtime: InstanceRuntime): boolean {
    const group = this.syncGroupOf(runtime);
    if (group === undefined || group.state === 'MASTER') return true;
    return this.membersOf(group).every((m) => m === runtime || m.machine.wantsMaster);
  }

  /**
   * Bring a group in line with its members after one of them changed (`moved`: the state it just
   * entered on its own) or after start/reload (undefined): a member with a fault of its own puts
   * every member in FAULT; when none has one any more, all leave FAULT together; a member that went
   * MASTER or BACKUP takes the others with it (keepalived's vrrp_sync_master/backup/fault).
   * Protected: the simulator's planted-bug test overrides it.
   */
  protected reconcileSyncGroup(nowMs: number, group: SyncGroupRuntime, moved: { runtime: InstanceRuntime; to: VrrpState } | undefined): void {
    if (this.syncing || this.stopping) return;
    this.syncing = true;
    try {
      const cause = syncGroupCause(group.spec.name);
      const members = this.membersOf(group);
      const faulty = members.filter((m) => m.machine.faultCauses.some((c) => c !== cause));
      if (faulty.length > 0) {
        if (group.state !== 'FAULT') {
          const names = faulty.map((m) => m.spec.name);
          this.log('info', undefined, { sync_group: group.spec.name, faulty: names }, `sync group ${group.spec.name}: ${names.join(', ')} in FAULT; syncing every member to FAULT`);
        }
        // Each MASTER says goodbye with priority 0 and removes its VIPs (the FAULT rule).
        for (const m of members) this.setFault(nowMs, m, cause, true);
        if (members.every((m) => m.started)) this.setSyncGroupState(group, 'FAULT');
        return;
      }
      if (members.some((m) => m.machine.faultCauses.includes(cause))) {
        this.log('info', undefined, { sync_group: group.spec.name }, `sync group ${group.spec.name}: no member is in FAULT any more; every member goes BACKUP`);
        for (const m of members) this.setFault(nowMs, m, cause, false);
        this.setSyncGroupState(group, 'BACKUP');
        return;
      }
      if (moved === undefined) return;
      if (moved.to === 'MASTER' && group.state !== 'MASTER') {
        this.log('info', undefined, { sync_group: group.spec.name, by: moved.runtime.spec.name }, `sync group ${group.spec.name}: syncing instances to MASTER`);
        for (const m of members) if (m !== moved.runtime) this.apply(nowMs, m, m.machine.syncTo(nowMs, 'MASTER'));
        this.setSyncGroupState(group, 'MASTER');
      } else if (moved.to === 'BACKUP' && group.state !== 'BACKUP') {
        if (group.state === 'MASTER') this.log('info', undefined, { sync_group: group.spec.name, by: moved.runtime.spec.name }, `sync group ${group.spec.name}: syncing instances to BACKUP`);
        for (const m of members) if (m !== moved.runtime) this.apply(nowMs, m, m.machine.syncTo(nowMs, 'BACKUP'));
        this.setSyncGroupState(group, 'BACKUP');
      }
    } finally {
      this.syncing = false;
    }
  }

  private setSyncGroupState(group: SyncGroupRuntime, state: SyncGroupState): void {
    if (group.state === state) return;
    const from = group.state;
    group.state = state;
    this.log('info', undefined, { sync_group: group.spec.name, from, to: state }, `sync group ${group.spec.name}: ${from} -> ${state}`);
    if (state !== 'INIT') this.pushGroupNotify(group, state);
  }

  private pushGroupNotify(group: SyncGroupRuntime, state: NotifyState): void {
    this.push({ type: 'notify', instance: group.spec.name, state, priority: 0, commands: group.spec.notify, group: true });
  }
}

function notifyState(state: VrrpState): NotifyState {
  return state === 'INIT' ? 'STOP' : state;
}

function instanceStatus(runtime: InstanceRuntime, nowMs: number, wallTime: (monotonicMs: number) => string, drained: boolean): Omit<InstanceStatus, 'warnings' | 'udp_only_warnings'> {
  const m = runtime.machine;
  const dropped: Partial<Record<DropReason, number>> = {};
  for (const [reason, count] of Object.entries(m.stats.dropped) as [DropReason, number][]) if (count > 0) dropped[reason] = count;
  const transition = m.lastTransition;
  const master = m.masterAddress;
  return {
    name: runtime.spec.name,
    state: m.state,
    virtual_router_id: runtime.core.virtualRouterId,
    version: runtime.core.version,
    family: runtime.core.family === 6 ? 'ipv6' : 'ipv4',
    interface: runtime.spec.interfaceName,
    priority: runtime.core.priority,
    effective_priority: m.effectivePriority,
    virtual_addresses: runtime.spec.vips.map((v) => `${formatIp(v.address)}/${v.prefixLength}`),
    master_address: master === undefined ? null : formatIp(master),
    master_priority: m.masterPriority ?? null,
    advert_interval_ms: runtime.core.advertIntervalCs * 10,
    master_advert_interval_ms: m.masterAdverIntervalMs,
    last_transition: transition ? { at: wallTime(transition.atMs), from: transition.from, to: transition.to, reason: transition.reason } : null,
    adverts_sent: m.stats.advertsSent,
    adverts_received: m.stats.advertsReceived,
    priority_zero_sent: m.stats.priorityZeroSent,
    priority_zero_received: m.stats.priorityZeroReceived,
    garp_bursts: m.stats.garpBursts,
    dual_master_seen: m.stats.dualMasterSeen,
    dropped,
    fault_causes: m.faultCauses,
    drained,
    trackers: [
      ...runtime.core.trackers.map((t) => ({ name: t.name, weight: t.weight, status: m.getTrackerStatus(t.name) ?? 'unknown' })),
      ...(runtime.spec.trackFiles ?? []).map((t) => ({ name: trackFileCause(t.name), weight: t.weight, status: m.faultCauses.includes(trackFileCause(t.name)) ? 'failed' : 'ok' })),
    ],
    peers: runtime.peers.status(nowMs),
    peers_not_shown: runtime.peers.sendersNotShown,
  };
}
