/**
 * The daemon's shell: feeds host events into the engine (engine.ts) and executes the commands it
 * gives back, in order. It decides nothing: which packet goes to which instance, when a timer is
 * due, what a reload changes, what is logged and what status says are the engine's.
 *
 * - One timer for the whole daemon, armed at engine.nextDeadline() after every input.
 * - Commands run one at a time and synchronously (VIPs over rtnetlink, GARP frames, sendto), so the
 *   engine's order is the host's order; a command that fails is reported back to the engine.
 * - The stall guard's second half: when the engine says a late timer must first let waiting packets
 *   in, the shell defers it to host.afterPendingIo (setImmediate on a real host).
 */
import { formatIp, type Ipv4, type Ipv6 } from '../core/ip.js';
import { toIoError } from '../io/errors.js';
import type { Logger } from './logging.js';
import { Engine, transportKey, type DaemonPlan, type DrainState, type HostCommand, type HostFacts, type HostFailure, type HostOperation, type LogContext, type ReloadSummary } from './engine.js';
import type { CheckHandle, DaemonHost, Transport } from './host.js';
import { rehearseTakeover } from './rehearsal.js';
import type { DaemonStatus } from './status.js';

export type { DaemonPlan, ReloadSummary };

export interface DaemonOptions {
  host: DaemonHost;
  logger: Logger;
  configFile: string;
  /** The engine to drive; a fresh one by default (tests hand in one they can inspect). */
  engine?: Engine;
}

/** A thrown error as data for the engine: the io layer's operation, an errno code, the message. */
function failureOf(operation: string, error: unknown): HostFailure {
  const io = toIoError(operation, error);
  return { operation: io.operation, code: io.code, message: io.message };
}

export class Daemon {
  readonly engine: Engine;
  private readonly host: DaemonHost;
  private readonly log: Logger;
  private readonly scheduler;
  private readonly transports = new Map<string, Transport>();
  private readonly checks = new Map<string, CheckHandle>();
  private readonly fileWatches = new Map<string, { close(): void }>();
  private readonly instanceLogs = new Map<string, Logger>();
  private linkWatch: { close(): void } | undefined;
  private addressWatch: { close(): void } | undefined;
  private readonly startedAtMs: number;
  private pumping = false;
  /** The latest time handed to the engine: packet times never go below it. */
  private latestMs = Number.NEGATIVE_INFINITY;
  /** A late timer waits for afterPendingIo; nothing re-arms the timer meanwhile. */
  private timerDeferred = false;

  constructor(private readonly options: DaemonOptions) {
    this.host = options.host;
    this.log = options.logger;
    this.engine = options.engine ?? new Engine();
    this.scheduler = options.host.createScheduler();
    this.startedAtMs = options.host.wallClockMs();
  }

  /** Clear stale VIPs (keepalived does the same at startup), then start the engine. */
  async start(plan: DaemonPlan): Promise<void> {
    const stale = await this.host.removeStaleVips(plan.instances.flatMap((s) => s.vips));
    if (stale.length > 0) {
      this.log.warn({ vips: stale.map((v) => `${formatIp(v.address)}/${v.prefixLength} dev ${v.ifname}`) }, 'removed stale virtual addresses left behind');
    }
    const facts = this.facts(plan);
    rehearseTakeover(plan, facts);
    this.engine.start(this.now(), plan, facts);
    this.addressWatch = this.host.watchDeletedAddresses((ifname, address) => this.input(() => this.engine.handleAddressDeleted(this.now(), ifname, address)));
    this.pump();
  }

  /** Apply a new, already validated plan (see Engine.reload); throws when the plan cannot run. */
  async reload(plan: DaemonPlan): Promise<ReloadSummary> {
    const summary = this.engine.reload(this.now(), plan, this.facts(plan));
    this.pump();
    return summary;
  }

  /** A reload refused before it reached the engine (an invalid file). */
  refuseReload(errors: readonly string[]): void {
    this.input(() => this.engine.refuseReload(errors));
  }

  /** Graceful stop: every MASTER says goodbye with priority 0 and removes its VIPs; checks end. */
  async stop(): Promise<void> {
    if (this.engine.isStopping) return;
    this.scheduler.cancel();
    this.addressWatch?.close();
    this.engine.shutdown(this.now());
    this.pump();
    await Promise.all([...this.checks.values()].map((check) => check.stop()));
    this.checks.clear();
  }

  /**
   * Apply a drain state (Engine.applyDrain) and execute what it asks at once: when this returns, the
   * goodbyes have been sent and the VIPs removed.
   */
  applyDrain(state: DrainState): { drained: string[]; undrained: string[] } {
    let changed = { drained: [] as string[], undrained: [] as string[] };
    this.input(() => {
      changed = this.engine.applyDrain(this.now(), state);
    });
    return changed;
  }

  status(): DaemonStatus {
    const nowMs = this.now();
    const wallNowMs = this.host.wallClockMs();
    const engine = this.engine.status(nowMs, (atMs) => new Date(wallNowMs - (nowMs - atMs)).toISOString());
    return {
      pid: this.host.pid,
      config_file: this.options.configFile,
      started_at: new Date(this.startedAtMs).toISOString(),
      event_loop_lag_ms: engine.event_loop_lag_ms,
      last_reload_error: engine.last_reload_error,
      instances: engine.instances,
      interface_dropped: engine.interface_dropped,
      sync_groups: engine.sync_groups,
      udp_mirror: engine.udp_mirror,
    };
  }

  /** Run counters of every check (`vrrpd status` shows them beside the filtered status). */
  checkStats(): unknown[] {
    return [...this.checks.entries()].map(([name, check]) => ({ ...check.stats(), status: this.engine.checkStatus(name) ?? 'unknown' }));
  }

  transitionCounts(): ReturnType<Engine['transitionCounts']> {
    return this.engine.transitionCounts();
  }

  secondsSinceLastAdvert(instance: string): number | undefined {
    return this.engine.secondsSinceLastAdvert(this.now(), instance);
  }

  stallCount(): number {
    return this.engine.stallCount();
  }

  // --- feeding the engine ----------------------------------------------------------------------

  private now(): number {
    const nowMs = this.host.clock.nowMs();
    if (nowMs > this.latestMs) this.latestMs = nowMs;
    return nowMs;
  }

  /**
   * The time a packet is handed to the engine with: when the kernel received it, so that a packet
   * that waited in the socket (the loop busy, a stall) starts Master_Down from its arrival
   * (docs/protocol.md#receive-time). Never before a time the engine has already been given: its
   * inputs stay in order (a timer may have been handed its deadline a fraction of a ms early).
   */
  private packetTime(receivedAtMs: number | undefined): number {
    if (receivedAtMs === undefined) return this.now();
    return Math.max(receivedAtMs, this.latestMs);
  }

  private facts(plan: DaemonPlan): HostFacts {
    return {
      interfaces: new Map(Engine.interfacesOf(plan).map((name) => [name, this.host.interfaceFacts(name)])),
      capabilities: this.host.capabilities(),
    };
  }

  /** An error of a host watcher (links, addresses, stale VIPs): logged by the engine's rule. */
  reportIoError(error: unknown): void {
    this.input(() => this.engine.handleHostError(this.now(), 'io', undefined, failureOf('io', error)));
  }

  /** Every input: hand it to the engine, execute what it asks, re-arm the timer. */
  private input(feed: () => void): void {
    if (this.engine.isStopping) return;
    feed();
    this.pump();
  }

  private onTimer(firedAtMs: number, deadlineMs: number): void {
    if (this.engine.isStopping) return;
    if (firedAtMs > this.latestMs) this.latestMs = firedAtMs;
    const verdict = this.engine.handleTimer(firedAtMs, deadlineMs);
    if (verdict === 'decided') {
      this.pump();
      return;
    }
    // The timer stays disarmed until the deferred decision: re-armed now, the past deadline would
    // fire again before the waiting packets are read.
    this.timerDeferred = true;
    this.pump(); // the stall warning
    this.host.afterPendingIo(() => {
      this.timerDeferred = false;
      // The scheduler may fire a fraction of a millisecond early and then hands us the deadline.
      this.input(() => this.engine.handleDeferredTimer(Math.max(this.now(), firedAtMs), deadlineMs));
    });
  }

  private reschedule(): void {
    if (this.engine.isStopping || this.timerDeferred) return;
    const deadline = this.engine.nextDeadline();
    this.scheduler.schedule(Number.isFinite(deadline) ? deadline : undefined, (firedAtMs) => this.onTimer(firedAtMs, deadline));
  }

  // --- executing commands ----------------------------------------------------------------------

  private pump(): void {
    // A command's callback never runs inside execute() on a real host; if one ever did, the outer
    // loop picks up whatever it queued, in order.
    if (this.pumping) return;
    this.pumping = true;
    try {
      this.drainCommands();
    } finally {
      this.pumping = false;
    }
    this.reschedule();
  }

  private drainCommands(): void {
    for (let command = this.engine.pollCommand(this.now()); command !== undefined; command = this.engine.pollCommand(this.now())) {
      try {
        this.execute(command);
      } catch (error) {
        const operation = command.type as HostOperation;
        const instance = 'instance' in command ? command.instance : undefined;
        this.engine.handleHostError(this.now(), operation, instance, failureOf(operation, error));
      }
    }
  }

  private execute(command: HostCommand): void {
    switch (command.type) {
      case 'send':
        this.transports.get(transportKey(command.ifname, command.family ?? 4))?.send(command.payload, command.source, command.destinations);
        return;
      case 'mirror_send':
        this.host.mirror?.send(command.payload, command.source, command.destinations);
        return;
      case 'mirror_floors':
        this.host.mirror?.saveFloors(command.floors);
        return;
      case 'mirror_listen':
        this.host.mirror?.listen(command.port, command.endpoints, (endpoint, source, result) =>
          this.input(() => this.engine.handleMirrorDatagram(this.now(), endpoint, source, result)),
        );
        return;
      case 'add_vips':
        this.host.addVips(command.vips);
        return;
      case 'remove_vips':
        this.host.removeVips(command.vips);
        return;
      case 'garp':
        this.announce(command);
        return;
      case 'open_transport': {
        const { ifname } = command;
        const family = command.family ?? 4;
        const transport = this.host.openTransport(
          ifname,
          command.multicast,
          (packet, receivedAtMs) => this.input(() => this.engine.handlePacket(this.packetTime(receivedAtMs), ifname, packet)),
          (error) => this.input(() => this.engine.handleTransportError(this.now(), ifname, failureOf('transport', error), family)),
          () => this.input(() => this.engine.handleTransportOpen(this.now(), ifname, this.host.interfaceFacts(ifname), family)),
          family,
        );
        this.transports.set(transportKey(ifname, family), transport);
        return;
      }
      case 'close_transport': {
        const key = transportKey(command.ifname, command.family ?? 4);
        this.transports.get(key)?.close();
        this.transports.delete(key);
        return;
      }
      case 'watch_links':
        this.linkWatch?.close();
        this.linkWatch =
          command.names.length === 0
            ? undefined
            : this.host.watchLinks(command.names, (ifname, up) => this.input(() => {
                  const facts = this.host.interfaceFacts(ifname);
                  this.engine.handleLink(this.now(), ifname, up, facts.address, facts.linkLocal6);
                }));
        return;
      case 'start_check': {
        const { name } = command.check;
        this.checks.set(name, this.host.startCheck(command.check, (ok, detail) => this.input(() => this.engine.handleCheckResult(this.now(), name, ok, detail))));
        return;
      }
      case 'stop_check': {
        const check = this.checks.get(command.name);
        this.checks.delete(command.name);
        void check?.stop();
        return;
      }
      case 'watch_file': {
        const { name } = command.file;
        this.fileWatches.get(name)?.close();
        this.fileWatches.set(
          name,
          this.host.watchFile(
            command.file,
            command.initialise,
            (text) => this.input(() => this.engine.handleTrackFile(this.now(), name, text)),
            (error) => this.reportIoError(error),
          ),
        );
        return;
      }
      case 'unwatch_file':
        this.fileWatches.get(command.name)?.close();
        this.fileWatches.delete(command.name);
        return;
      case 'notify':
        this.host.notify(command.instance, command.state, command.priority, command.commands, command.group === true ? 'GROUP' : 'INSTANCE');
        return;
      case 'probe':
        this.runProbe(command);
        return;
      case 'log':
        this.logger(command.context)[command.level](command.fields, command.message);
        return;
    }
  }

  /**
   * The engine says when to announce; the family of each address says how: gratuitous ARP for
   * IPv4, an unsolicited neighbour advertisement for IPv6, with the same repeat
   * (docs/protocol.md#unsolicited-neighbour-advertisements). Both are tried before a failure is
   * reported, so one family's refusal does not silence the other's announcement.
   */
  private announce(command: Extract<HostCommand, { type: 'garp' }>): void {
    const ipv4 = command.addresses.filter((a): a is Ipv4 => typeof a === 'number');
    const ipv6 = command.addresses.filter((a): a is Ipv6 => typeof a === 'bigint');
    let failure: unknown;
    if (ipv4.length > 0 || ipv6.length === 0) {
      try {
        this.host.sendGarp(command.ifname, ipv4, command.repeat);
      } catch (error) {
        failure = error;
      }
    }
    if (ipv6.length > 0) {
      try {
        this.host.sendNeighbourAdvert(command.ifname, ipv6, command.repeat);
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== undefined) throw failure;
  }

  /** The answer to a probe goes straight back to the engine (a refusal is an answer, not an error). */
  private runProbe(command: Extract<HostCommand, { type: 'probe' }>): void {
    const { instance, means } = command;
    if (means === 'source_address') {
      const facts = this.host.interfaceFacts(command.ifname);
      this.engine.handleProbeResult(this.now(), instance, means, undefined, facts.address, facts.linkLocal6);
      return;
    }
    let failure: HostFailure | undefined;
    try {
      if (means === 'vip_add') this.host.removeVips(command.vips);
      else this.host.probeGarp(command.ifname);
    } catch (error) {
      failure = failureOf(means === 'vip_add' ? 'vip.remove' : 'garp.send', error);
    }
    this.engine.handleProbeResult(this.now(), instance, means, failure);
  }

  private logger(context: LogContext | undefined): Logger {
    if (context === undefined) return this.log;
    const key = `${context.instance}/${context.vrid}/${context.interface}`;
    let log = this.instanceLogs.get(key);
    if (log === undefined) {
      log = this.log.child(context);
      this.instanceLogs.set(key, log);
    }
    return log;
  }
}
