/**
 * A simulated router: the daemon's real engine (src/daemon/engine.ts) on a fake host, driven by the
 * simulator's clock and bus. Its configuration is a real vrrpd YAML or keepalived.conf file, read by
 * the real loader and planned by the real planner, so the simulator runs the product's decisions,
 * not a copy of them.
 *
 * The fake host is honest about what a host does and no more:
 * - a VIP table (add_vips / remove_vips decide whether this host holds an instance's VIPs);
 * - a GARP log, an advert log, a transition log (read from the engine's own transition lines);
 * - a check runner: every check the engine starts runs at once and then every interval, and its
 *   result is what the host's world says (kube-apiserver alive or not); the engine applies rise,
 *   fall and init_fail, exactly as on a real host;
 * - one link (ens32): link down stops packets both ways and tells the engine, as the link watcher
 *   would;
 * - three ways to go away: a crash (the host dies: silence, no goodbye, its VIPs die with it), a
 *   graceful stop (shutdown: priority-0 advert, VIPs removed) and a kill -9 (silence, VIPs stay).
 */
import type { Document } from 'yaml';
import { parseDocument } from 'yaml';
import { parseConfigData, parseConfigText } from '../../src/config/load.js';
import type { VrrpdConfig } from '../../src/config/model.js';
import { encodeIpv4Packet } from '../../src/core/codec.js';
import { formatIp, formatIpv4, parseIpv4, type Ipv4 } from '../../src/core/ip.js';
import type { VrrpMachine } from '../../src/core/machine.js';
import { VRRP_TOS, VRRP_TTL, type TransitionReason, type VrrpState } from '../../src/core/types.js';
import { Engine, type CheckPlan, type DaemonPlan, type HostCommand, type HostFacts } from '../../src/daemon/engine.js';
import { planDaemon } from '../../src/daemon/plan.js';
import type { VipSpec } from '../../src/io/vip.js';
import type { Endpoint, Network, VirtualClock } from './network.js';

/** The one interface every simulated host has. */
export const SIM_INTERFACE = 'ens32';

/**
 * A node's configuration: a file's text (YAML or keepalived.conf), or the plain data a YAML file
 * parses to (the swarm draws thousands; it skips only the YAML text parser), with the name errors
 * are reported against.
 */
export type ConfigSource = { fileName: string; text: string } | { fileName: string; data: unknown };

export interface RouterSpec {
  name: string;
  /** The node's primary address on ens32 (unicast_src_ip usually says the same). */
  address: string;
  config: ConfigSource;
}

/** A YAML config with an edit applied (scenarios change a priority or a password this way). */
export function editYaml(source: ConfigSource, edit: (doc: Document) => void): ConfigSource {
  if (!('text' in source)) throw new Error(`${source.fileName}: editYaml needs a file's text`);
  const doc = parseDocument(source.text);
  edit(doc);
  return { fileName: source.fileName, text: doc.toString() };
}

/** Load a node's config through the real loader; a config the loader refuses is a test bug. */
export function loadNodeConfig(source: ConfigSource): VrrpdConfig {
  const loaded = 'text' in source ? parseConfigText(source.text, source.fileName) : parseConfigData(source.data, source.fileName);
  if (!loaded.ok) throw new Error(`${source.fileName} is refused by the loader:\n${loaded.errors.map((e) => JSON.stringify(e)).join('\n')}`);
  return loaded.config;
}

export interface TransitionLogEntry {
  atMs: number;
  instance: string;
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

/** Makes the engine of each process lifetime; the planted-bug test hands in a broken one. */
export type EngineFactory = () => Engine;

interface RunningCheck {
  plan: CheckPlan;
  nextRunMs: number;
}

/** One instance as the checkers see it, for the life of one engine (rebuilt at start and reload). */
export class SimInstance {
  /** When this instance last became MASTER (the safety checker's clock). */
  becameMasterAtMs = 0;
  /** When its effective priority last changed, or its process started. */
  priorityChangedAtMs: number;
  lastPriority: number | undefined;

  constructor(
    readonly router: SimRouter,
    readonly name: string,
    readonly machine: VrrpMachine,
    private readonly vipKeys: readonly string[],
    private readonly vipTable: ReadonlyMap<string, VipSpec>,
    nowMs: number,
  ) {
    this.priorityChangedAtMs = nowMs;
  }

  /** Whether this host holds every VIP of the instance. */
  get holdsVips(): boolean {
    if (this.vipKeys.length === 0) return false;
    for (const key of this.vipKeys) if (!this.vipTable.has(key)) return false;
    return true;
  }
}

export class SimRouter implements Endpoint {
  readonly name: string;
  readonly address: Ipv4;
  readonly spec: RouterSpec;
  readonly config: VrrpdConfig;
  readonly plan: DaemonPlan;

  hostUp = true;
  linkUp = true;
  apiserverAlive = true;

  /** The running engine, undefined while the process is not running. */
  private engine: Engine | undefined;
  private checks = new Map<string, RunningCheck>();
  private watchedLinks: readonly string[] = [];
  /** The host's address table: `10.0.0.50/32 dev ens32` for every VIP configured on it. */
  private readonly vipTable = new Map<string, VipSpec>();
  private ipId = 0;
  private views: SimInstance[] = [];
  /** The longest advert_int and preempt_delay of this node's instances (the checkers' bounds). */
  readonly maxAdvertIntervalMs: number;
  readonly maxPreemptDelayMs: number;

  readonly transitions: TransitionLogEntry[] = [];
  readonly adverts: { atMs: number; instance: string; priority: number }[] = [];
  readonly garps: { atMs: number; instance: string; why: string }[] = [];

  constructor(
    spec: RouterSpec,
    private readonly clock: VirtualClock,
    private readonly network: Network,
    private readonly events: RouterEvents,
    private readonly makeEngine: EngineFactory = () => new Engine(),
  ) {
    this.spec = spec;
    this.name = spec.name;
    const address = parseIpv4(spec.address);
    if (address === undefined) throw new Error(`${spec.name}: bad address ${spec.address}`);
    this.address = address;
    this.config = loadNodeConfig(spec.config);
    this.plan = planDaemon(this.config);
    for (const ifname of Engine.interfacesOf(this.plan)) {
      if (ifname !== SIM_INTERFACE) throw new Error(`${spec.name}: the simulator has only ${SIM_INTERFACE}, the config uses ${ifname}`);
    }
    this.maxAdvertIntervalMs = Math.max(...this.plan.instances.map((i) => i.core.advertIntervalCs * 10));
    this.maxPreemptDelayMs = Math.max(0, ...this.plan.instances.map((i) => i.core.preemptDelayMs));
  }

  // --- what the cluster and the checkers read ----------------------------------------------

  get running(): boolean {
    return this.engine !== undefined;
  }

  /** The running engine's instances, in config order. */
  get instances(): readonly SimInstance[] {
    return this.views;
  }

  /** The machine of the first (usually the only) instance. */
  get machine(): VrrpMachine {
    const first = this.engine?.instanceNames[0];
    if (this.engine === undefined || first === undefined) throw new Error(`${this.name} is not running`);
    return this.engine.machine(first) as VrrpMachine;
  }

  /** MASTER/BACKUP/FAULT/INIT of the first instance, DOWN when the host is off, STOPPED when the process is not running. */
  get state(): VrrpState | 'DOWN' | 'STOPPED' {
    if (!this.hostUp) return 'DOWN';
    return this.engine === undefined ? 'STOPPED' : this.machine.state;
  }

  get effectivePriority(): number {
    return this.machine.effectivePriority;
  }

  /** Whether the host holds any VIP at all. */
  get holdsVips(): boolean {
    return this.vipTable.size > 0;
  }

  /** Running with a working link: its instances could be MASTER (unless in FAULT). */
  get eligible(): boolean {
    return this.hostUp && this.linkUp && this.engine !== undefined;
  }

  canSend(): boolean {
    return this.hostUp && this.linkUp;
  }

  canReceive(): boolean {
    return this.hostUp && this.linkUp && this.engine !== undefined;
  }

  /** The earliest time something inside this router is due: the engine's deadline or a check run. */
  nextEventMs(): number {
    if (this.engine === undefined) return Number.POSITIVE_INFINITY;
    let next = this.engine.nextDeadline();
    for (const check of this.checks.values()) if (check.nextRunMs < next) next = check.nextRunMs;
    return next;
  }

  // --- the verbs scenarios use ---------------------------------------------------------------

  /** Start the vrrpd process (stale VIPs are removed at startup, as the daemon does). */
  start(): void {
    if (!this.hostUp) throw new Error(`${this.name}: cannot start a process on a host that is down`);
    if (this.engine !== undefined) throw new Error(`${this.name}: already running`);
    const nowMs = this.clock.nowMs;
    this.vipTable.clear();
    this.checks.clear();
    this.views = [];
    const engine = this.makeEngine();
    this.engine = engine;
    this.network.touchEndpoint(this.address);
    this.events.disturbance(this, 'start');
    engine.start(nowMs, this.plan, this.facts());
    this.rebuildViews();
    this.pump();
  }

  /** Graceful stop (SIGTERM): a MASTER says goodbye with priority 0 and removes its VIPs. */
  stop(): void {
    const engine = this.runningEngine();
    engine.shutdown(this.clock.nowMs);
    this.pump();
    this.retire();
    this.events.disturbance(this, 'stop');
  }

  /** The host dies: no goodbye, nothing sent or received, and the VIPs go with it. */
  crash(): void {
    if (!this.hostUp) throw new Error(`${this.name}: already down`);
    this.hostUp = false;
    this.vipTable.clear();
    if (this.engine !== undefined) this.retire();
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

  /** The interface loses carrier: nothing in or out, and the link watcher reports it. */
  linkDown(): void {
    if (!this.linkUp) return;
    this.linkUp = false;
    this.network.touchEndpoint(this.address);
    this.events.disturbance(this, 'link_down');
    this.reportLink(false);
  }

  restoreLink(): void {
    if (this.linkUp) return;
    this.linkUp = true;
    this.network.touchEndpoint(this.address);
    this.events.disturbance(this, 'link_up');
    this.reportLink(true);
  }

  /** kube-apiserver exits; the checks notice at their next run(s). */
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
    this.runningEngine();
    this.retire();
    this.events.disturbance(this, 'killed (SIGKILL)');
  }

  /** Someone (NetworkManager, an operator) deletes the VIPs behind the daemon's back; the address watch tells the engine. */
  deleteVipsBehindBack(): void {
    if (this.vipTable.size === 0) return;
    const engine = this.runningEngine();
    const deleted = [...this.vipTable.values()];
    this.vipTable.clear();
    this.events.disturbance(this, 'vips_deleted');
    for (const vip of deleted) engine.handleAddressDeleted(this.clock.nowMs, vip.ifname, vip.address);
    this.pump();
  }

  /** Someone adds every VIP of the config to the host by hand (the VIP checker must notice). */
  addVipsBehindBack(): void {
    for (const spec of this.plan.instances) for (const vip of spec.vips) this.vipTable.set(vipKey(vip), vip);
  }

  /** Apply a new config file as SIGHUP would, through the real loader and planner. */
  reload(config: ConfigSource): void {
    const engine = this.runningEngine();
    engine.reload(this.clock.nowMs, planDaemon(loadNodeConfig(config)), this.facts());
    this.rebuildViews();
    this.pump();
  }

  // --- what the simulator loop calls ---------------------------------------------------------

  receive(nowMs: number, packet: Uint8Array): void {
    const engine = this.runningEngine();
    engine.handlePacket(nowMs, SIM_INTERFACE, packet);
    this.pump();
  }

  /** Fire whatever is due at nowMs: check runs first (their results feed this instant's decisions), then the engine's timer. */
  runDue(nowMs: number): void {
    const engine = this.engine;
    if (engine === undefined) return;
    for (const check of [...this.checks.values()]) {
      if (check.nextRunMs > nowMs) continue;
      check.nextRunMs = nowMs + check.plan.intervalMs;
      const ok = this.apiserverAlive;
      const before = engine.checkStatus(check.plan.name);
      engine.handleCheckResult(nowMs, check.plan.name, ok, ok ? 'kube-apiserver is running' : 'no kube-apiserver');
      const after = engine.checkStatus(check.plan.name);
      // A disturbance even when the priority does not move: a weight-0 tracker moves the instance in or out of FAULT.
      if (after !== before) this.events.disturbance(this, `tracker ${check.plan.name} -> ${after}`);
      this.pump();
    }
    const deadline = engine.nextDeadline();
    if (deadline <= nowMs) {
      // The simulated loop is never late, and every packet due at this millisecond was delivered
      // before the timers: the stall guard's deferral would change nothing, but honour it anyway.
      if (engine.handleTimer(nowMs, deadline) === 'read_sockets_first') engine.handleDeferredTimer(nowMs, deadline);
      this.pump();
      const next = engine.nextDeadline();
      // A timer that stays due after it fired would spin the simulator forever.
      if (next <= nowMs) throw new Error(`${this.name}: nextDeadline ${next} still due after handleTimer(${nowMs})`);
    }
  }

  // --- the fake host -------------------------------------------------------------------------

  private runningEngine(): Engine {
    if (this.engine === undefined) throw new Error(`${this.name} is not running`);
    return this.engine;
  }

  private facts(): HostFacts {
    return { interfaces: new Map([[SIM_INTERFACE, { address: this.address, up: this.linkUp, exists: true }]]), capabilities: { netRaw: true, netAdmin: true } };
  }

  private reportLink(up: boolean): void {
    const engine = this.engine;
    if (engine === undefined || !this.watchedLinks.includes(SIM_INTERFACE)) return;
    engine.handleLink(this.clock.nowMs, SIM_INTERFACE, up);
    this.pump();
  }

  /** One view per instance of the running engine; an instance that stays keeps its clocks. */
  private rebuildViews(): void {
    const engine = this.runningEngine();
    const previous = new Map(this.views.map((view) => [view.name, view]));
    this.views = engine.instanceNames.map((name) => {
      const machine = engine.machine(name) as VrrpMachine;
      const kept = previous.get(name);
      if (kept !== undefined && kept.machine === machine) return kept;
      const spec = this.plan.instances.find((s) => s.name === name);
      return new SimInstance(this, name, machine, (spec?.vips ?? []).map(vipKey), this.vipTable, this.clock.nowMs);
    });
  }

  /** Execute every command the engine queued, in order, as a host would. */
  private pump(): void {
    const engine = this.engine;
    if (engine === undefined) return;
    for (let command = engine.pollCommand(this.clock.nowMs); command !== undefined; command = engine.pollCommand(this.clock.nowMs)) this.execute(command);
    for (const view of this.views) {
      const priority = view.machine.effectivePriority;
      if (priority === view.lastPriority) continue;
      if (view.lastPriority !== undefined) this.events.disturbance(this, `${view.name} priority ${view.lastPriority} -> ${priority}`);
      view.lastPriority = priority;
      view.priorityChangedAtMs = this.clock.nowMs;
    }
  }

  private execute(command: HostCommand): void {
    const nowMs = this.clock.nowMs;
    switch (command.type) {
      case 'send':
        // A VRRPv3 unicast advert leaves as one send per peer (each copy has its own checksum): the
        // advert is counted once, at its copy to the first destination.
        if (this.firstCopy(command)) this.adverts.push({ atMs: nowMs, instance: command.instance, priority: command.priority });
        this.transmit(command.payload, command.source, command.destinations);
        return;
      case 'add_vips':
        for (const vip of command.vips) this.vipTable.set(vipKey(vip), vip);
        return;
      case 'remove_vips':
        for (const vip of command.vips) this.vipTable.delete(vipKey(vip));
        return;
      case 'garp':
        this.garps.push({ atMs: nowMs, instance: command.instance, why: command.why });
        if (this.canSend()) this.events.garp(this);
        return;
      case 'start_check':
        // keepalived runs every script once at startup, then every interval.
        this.checks.set(command.check.name, { plan: command.check, nextRunMs: nowMs });
        return;
      case 'stop_check':
        this.checks.delete(command.name);
        return;
      case 'watch_links':
        this.watchedLinks = command.names;
        return;
      case 'probe':
        // The simulated host allows everything a MASTER does; a source_address probe reads ens32.
        if (command.means === 'source_address') this.runningEngine().handleProbeResult(nowMs, command.instance, command.means, undefined, this.address);
        else this.runningEngine().handleProbeResult(nowMs, command.instance, command.means, undefined);
        return;
      case 'open_transport':
      case 'close_transport':
      case 'notify':
        return;
      case 'log': {
        const transition = command.transition;
        if (transition === undefined) return;
        this.transitions.push({ atMs: nowMs, instance: transition.instance, from: transition.from, to: transition.to, reason: transition.reason, effectivePriority: transition.effectivePriority });
        const view = this.views.find((v) => v.name === transition.instance);
        if (transition.to === 'MASTER' && view !== undefined) view.becameMasterAtMs = nowMs;
        this.events.trace(`${nowMs} ${this.name} ${transition.instance} ${transition.from} -> ${transition.to} (${transition.reason}, priority ${transition.effectivePriority})`);
        return;
      }
    }
  }

  /** Whether a send command is an advert's only or first copy (see execute). */
  private firstCopy(command: Extract<HostCommand, { type: 'send' }>): boolean {
    const config = this.engine?.machine(command.instance)?.config;
    if (config === undefined || command.destinations.length !== 1 || config.unicastPeers.length < 2) return true;
    return command.destinations[0] === config.unicastPeers[0];
  }

  /** One datagram per destination (the group, or each unicast peer); TTL 255 and TOS 0xc0 as keepalived sends. */
  private transmit(payload: Uint8Array, source: Ipv4, destinations: readonly Ipv4[]): void {
    for (const destination of destinations) {
      this.ipId = (this.ipId + 1) & 0xffff;
      const packet = encodeIpv4Packet({ source, destination, ttl: VRRP_TTL, tos: VRRP_TOS, id: this.ipId }, payload);
      this.network.send(this, destination, packet);
    }
  }

  private retire(): void {
    this.engine = undefined;
    this.views = [];
    this.checks.clear();
    this.watchedLinks = [];
    this.network.touchEndpoint(this.address);
  }

  toString(): string {
    return `${this.name}(${formatIpv4(this.address)})`;
  }
}

function vipKey(vip: VipSpec): string {
  return `${formatIp(vip.address)}/${vip.prefixLength} dev ${vip.ifname}`;
}
