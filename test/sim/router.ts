/**
 * A simulated router: the real VrrpMachine plus fake io, driven by the simulator's clock and bus.
 *
 * The fake io is honest about what the host does and no more:
 * - a VIP table (add_vips / remove_vips decide whether this host holds the VIPs);
 * - a GARP log, an advert log, a transition log;
 * - a script runner for `vrrp_script` trackers: it runs the check every interval from process start,
 *   applies rise/fall (the first result decides), and reports status changes to the machine, so a
 *   killed kube-apiserver is noticed at the next run, not at once;
 * - three ways to go away: a crash (the host dies: silence, no goodbye, its VIPs die with it), a graceful
 *   stop (shutdown(): priority 0 advert, VIPs removed) and a link down (setFault + no packets either way).
 */
import { encodeIpv4Packet } from '../../src/core/codec.js';
import { VRRP_MULTICAST_GROUP, type Ipv4, formatIpv4 } from '../../src/core/ip.js';
import { VrrpMachine } from '../../src/core/machine.js';
import { VRRP_TOS, VRRP_TTL, type Action, type InstanceConfig, type TrackerStatus, type TransitionReason, type VrrpState } from '../../src/core/types.js';
import type { Endpoint, Network, VirtualClock } from './network.js';

/** A `vrrp_script` whose command checks a host condition (only kube-apiserver's presence here). */
export interface ScriptSpec {
  /** The tracker name the machine knows (its InstanceConfig.trackers entry has the same name). */
  name: string;
  weight: number;
  reverse?: boolean;
  intervalMs: number;
  rise: number;
  fall: number;
  /** What `killall -0 kube-apiserver` finds: the check succeeds while the apiserver runs. */
  probe: 'apiserver';
}

export interface RouterSpec {
  name: string;
  config: InstanceConfig;
  scripts: ScriptSpec[];
}

/** The link-down fault cause, as the io layer's link watcher would name it. */
export const LINK_FAULT_CAUSE = 'interface:ens32';

export interface TransitionLogEntry {
  atMs: number;
  from: VrrpState;
  to: VrrpState;
  reason: TransitionReason;
  effectivePriority: number;
}

/** What the router tells the cluster (the checkers' notion of "something changed"). */
export interface RouterEvents {
  /** A host, process or link event, or an effective priority change: restarts the convergence clocks. */
  disturbance(router: SimRouter, what: string): void;
  /** A gratuitous ARP burst left the host: the segment's ARP caches now map the VIPs to this host. */
  garp(router: SimRouter): void;
  trace(line: string): void;
}

class ScriptRunner {
  nextRunMs: number;
  status: TrackerStatus = 'unknown';
  private streak = 0;
  private lastResult: boolean | undefined;

  constructor(
    readonly spec: ScriptSpec,
    startMs: number,
  ) {
    // keepalived runs every script once at startup, then every interval.
    this.nextRunMs = startMs;
  }

  /** Record one run's result; returns the new status when it changes. */
  run(nowMs: number, success: boolean): TrackerStatus | undefined {
    this.nextRunMs = nowMs + this.spec.intervalMs;
    this.streak = this.lastResult === success ? this.streak + 1 : 1;
    this.lastResult = success;
    let next = this.status;
    if (this.status === 'unknown') next = success ? 'ok' : 'failed'; // the first result decides
    else if (this.status === 'ok' && !success && this.streak >= this.spec.fall) next = 'failed';
    else if (this.status === 'failed' && success && this.streak >= this.spec.rise) next = 'ok';
    if (next === this.status) return undefined;
    this.status = next;
    return next;
  }
}

export class SimRouter implements Endpoint {
  readonly name: string;
  readonly address: Ipv4;
  readonly spec: RouterSpec;

  hostUp = true;
  linkUp = true;
  apiserverAlive = true;
  /** The VIP table: does this host currently have the virtual addresses configured? */
  holdsVips = false;

  /** The running machine, undefined while the process is not running. */
  private current: VrrpMachine | undefined;
  private scripts: ScriptRunner[] = [];
  private ipId = 0;
  private lastEffectivePriority: number | undefined;

  readonly transitions: TransitionLogEntry[] = [];
  readonly adverts: { atMs: number; priority: number }[] = [];
  readonly garps: { atMs: number; why: string }[] = [];
  readonly drops = new Map<string, number>();
  /** When this router last became MASTER (the safety checker's clock). */
  becameMasterAtMs = 0;
  /** When its effective priority last changed, or its process started. */
  priorityChangedAtMs = 0;
  /** Machines of earlier process lifetimes, for stats. */
  readonly pastMachines: VrrpMachine[] = [];

  constructor(
    spec: RouterSpec,
    private readonly clock: VirtualClock,
    private readonly network: Network,
    private readonly events: RouterEvents,
  ) {
    this.spec = spec;
    this.name = spec.name;
    this.address = spec.config.sourceAddress;
    for (const script of spec.scripts) {
      if (!spec.config.trackers.some((t) => t.name === script.name)) throw new Error(`${spec.name}: script ${script.name} has no tracker in the config`);
    }
  }

  // --- what the cluster and the checkers read ----------------------------------------------

  get running(): boolean {
    return this.current !== undefined;
  }

  get machine(): VrrpMachine {
    if (this.current === undefined) throw new Error(`${this.name} is not running`);
    return this.current;
  }

  /** MASTER/BACKUP/FAULT/INIT, or DOWN when the host is off and STOPPED when the process is not running. */
  get state(): VrrpState | 'DOWN' | 'STOPPED' {
    if (!this.hostUp) return 'DOWN';
    return this.current?.state ?? 'STOPPED';
  }

  get effectivePriority(): number {
    return this.machine.effectivePriority;
  }

  /** Running with a working link and not in FAULT: could be MASTER. */
  get eligible(): boolean {
    return this.hostUp && this.linkUp && this.current !== undefined && this.current.state !== 'FAULT';
  }

  canSend(): boolean {
    return this.hostUp && this.linkUp;
  }

  canReceive(): boolean {
    return this.hostUp && this.linkUp && this.current !== undefined;
  }

  /** The earliest time something inside this router is due: a machine timer or a script run. */
  nextEventMs(): number {
    if (this.current === undefined) return Number.POSITIVE_INFINITY;
    let next = this.current.nextDeadline();
    for (const script of this.scripts) if (script.nextRunMs < next) next = script.nextRunMs;
    return next;
  }

  // --- the verbs scenarios use ---------------------------------------------------------------

  /** Start the vrrpd process (stale VIPs are removed at startup, as the daemon does). */
  start(): void {
    if (!this.hostUp) throw new Error(`${this.name}: cannot start a process on a host that is down`);
    if (this.current !== undefined) throw new Error(`${this.name}: already running`);
    const nowMs = this.clock.nowMs;
    this.holdsVips = false;
    const machine = new VrrpMachine(this.spec.config);
    this.current = machine;
    this.scripts = this.spec.scripts.map((s) => new ScriptRunner(s, nowMs));
    if (!this.linkUp) machine.setFault(nowMs, LINK_FAULT_CAUSE, true);
    this.lastEffectivePriority = undefined;
    this.network.touchEndpoint(this.address);
    this.events.disturbance(this, 'start');
    this.execute(machine.start(nowMs));
  }

  /** Graceful stop (SIGTERM): a MASTER says goodbye with priority 0 and removes its VIPs. */
  stop(): void {
    const machine = this.machine;
    this.execute(machine.shutdown(this.clock.nowMs));
    this.retire(machine);
    this.events.disturbance(this, 'stop');
  }

  /** The host dies: no goodbye, nothing sent or received, and the VIPs go with it. */
  crash(): void {
    if (!this.hostUp) throw new Error(`${this.name}: already down`);
    this.hostUp = false;
    this.holdsVips = false;
    if (this.current !== undefined) this.retire(this.current);
    this.network.touchEndpoint(this.address);
    this.events.disturbance(this, 'crash');
  }

  /** The host comes back and starts vrrpd (kube-apiserver comes back with it, as after a reboot). */
  powerOn(): void {
    if (this.hostUp) throw new Error(`${this.name}: already up`);
    this.hostUp = true;
    this.apiserverAlive = true;
    this.start();
  }

  /** The interface loses carrier: nothing in or out, and the link watcher reports the fault. */
  linkDown(): void {
    if (!this.linkUp) return;
    this.linkUp = false;
    this.network.touchEndpoint(this.address);
    this.events.disturbance(this, 'link_down');
    if (this.current !== undefined) this.execute(this.current.setFault(this.clock.nowMs, LINK_FAULT_CAUSE, true));
  }

  restoreLink(): void {
    if (this.linkUp) return;
    this.linkUp = true;
    this.network.touchEndpoint(this.address);
    this.events.disturbance(this, 'link_up');
    if (this.current !== undefined) this.execute(this.current.setFault(this.clock.nowMs, LINK_FAULT_CAUSE, false));
  }

  /** kube-apiserver exits; the check script notices at its next run(s). */
  killApiserver(): void {
    this.apiserverAlive = false;
    this.events.trace(`${this.clock.nowMs} ${this.name} kube-apiserver killed`);
  }

  startApiserver(): void {
    this.apiserverAlive = true;
    this.events.trace(`${this.clock.nowMs} ${this.name} kube-apiserver started`);
  }

  /**
   * kill -9 of vrrpd: no goodbye, and the VIPs stay configured on the host until the next start
   * removes them (a known field failure; the VIP checker reports it).
   */
  kill(): void {
    this.retire(this.machine);
    this.events.disturbance(this, 'killed (SIGKILL)');
  }

  /** Someone (NetworkManager, an operator) deletes the VIP behind the daemon's back; its netlink watch tells the machine. */
  deleteVipsBehindBack(): void {
    if (!this.holdsVips) return;
    this.holdsVips = false;
    this.events.disturbance(this, 'vips_deleted');
    this.execute(this.machine.handleVirtualAddressesMissing(this.clock.nowMs));
  }

  // --- what the simulator loop calls ---------------------------------------------------------

  receive(nowMs: number, packet: Uint8Array): void {
    this.execute(this.machine.handlePacket(nowMs, packet));
  }

  /** Fire whatever is due at nowMs: script runs first (their results feed this instant's decisions), then timers. */
  runDue(nowMs: number): void {
    const machine = this.current;
    if (machine === undefined) return;
    for (const script of this.scripts) {
      if (script.nextRunMs > nowMs) continue;
      const success = script.spec.probe === 'apiserver' ? this.apiserverAlive : true;
      const changed = script.run(nowMs, success);
      if (changed !== undefined) {
        // A disturbance even when the priority does not move: a weight-0 tracker moves the instance in or out of FAULT.
        this.events.disturbance(this, `tracker ${script.spec.name} -> ${changed}`);
        this.execute(machine.setTrackerStatus(nowMs, script.spec.name, changed));
      }
    }
    if (machine.nextDeadline() <= nowMs) {
      this.execute(machine.handleTimeout(nowMs));
      const next = machine.nextDeadline();
      // A timer that stays due after handleTimeout would spin the simulator forever.
      if (next <= nowMs) throw new Error(`${this.name}: nextDeadline ${next} still due after handleTimeout(${nowMs}) in ${machine.state}`);
    }
  }

  // --- fake io -------------------------------------------------------------------------------

  private execute(actions: Action[]): void {
    const nowMs = this.clock.nowMs;
    for (const action of actions) {
      switch (action.type) {
        case 'send_advert':
          this.adverts.push({ atMs: nowMs, priority: action.priority });
          this.transmit(action.payload);
          break;
        case 'add_vips':
          this.holdsVips = true;
          break;
        case 'remove_vips':
          this.holdsVips = false;
          break;
        case 'garp':
          this.garps.push({ atMs: nowMs, why: action.why });
          if (this.canSend()) this.events.garp(this);
          break;
        case 'transition':
          this.transitions.push({ atMs: nowMs, from: action.from, to: action.to, reason: action.reason, effectivePriority: action.effectivePriority });
          if (action.to === 'MASTER') this.becameMasterAtMs = nowMs;
          this.events.trace(`${nowMs} ${this.name} ${action.from} -> ${action.to} (${action.reason}, priority ${action.effectivePriority})`);
          break;
        case 'drop':
          this.drops.set(action.reason, (this.drops.get(action.reason) ?? 0) + 1);
          break;
        case 'log':
          break;
      }
    }
    const machine = this.current;
    if (machine !== undefined && machine.effectivePriority !== this.lastEffectivePriority) {
      if (this.lastEffectivePriority !== undefined) this.events.disturbance(this, `priority ${this.lastEffectivePriority} -> ${machine.effectivePriority}`);
      this.lastEffectivePriority = machine.effectivePriority;
      this.priorityChangedAtMs = nowMs;
    }
  }

  /** One datagram per unicast peer, or one to the group; TTL 255 and TOS 0xc0 as keepalived sends. */
  private transmit(payload: Uint8Array): void {
    const config = this.spec.config;
    const destinations = config.unicastPeers.length > 0 ? config.unicastPeers : [VRRP_MULTICAST_GROUP];
    for (const destination of destinations) {
      this.ipId = (this.ipId + 1) & 0xffff;
      const packet = encodeIpv4Packet({ source: this.address, destination, ttl: VRRP_TTL, tos: VRRP_TOS, id: this.ipId }, payload);
      this.network.send(this, destination, packet);
    }
  }

  private retire(machine: VrrpMachine): void {
    this.pastMachines.push(machine);
    this.current = undefined;
    this.scripts = [];
    this.network.touchEndpoint(this.address);
  }

  toString(): string {
    return `${this.name}(${formatIpv4(this.address)})`;
  }
}
