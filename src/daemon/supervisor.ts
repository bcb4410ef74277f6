/**
 * The daemon's life as a class, testable without signals: start validates everything before it
 * touches the host (the preflight `check-config` runs too), then brings up the host adapters, the
 * control socket, the metrics endpoint and the daemon; reload applies a new file or refuses it and
 * keeps the running one; stop says goodbye and releases everything. The CLI (src/cli/run.ts) only
 * parses arguments and turns signals into these calls.
 *
 * Exit codes (what start resolves with when it does not run): 1 runtime failure (a missing means,
 * a socket that cannot open), 3 configuration rejected (nothing on the host was changed).
 */
import type { Server } from 'node:http';
import { performance } from 'node:perf_hooks';
import { formatIssue } from '../config/load.js';
import type { VrrpdConfig } from '../config/model.js';
import { formatIp } from '../core/ip.js';
import { scriptTrackerName } from '../core/tracker.js';
import { readIfindex } from '../io/link.js';
import { createNotifier, type Notifier } from '../io/notify.js';
import { MirrorCounter, MirrorSockets, readMirrorKey } from '../io/mirror.js';
import { fifoSpecs, NotifyFifos } from './notify-fifos.js';
import { clearChildCapabilities, readEffectiveCapabilities } from '../io/privileges.js';
import type { Probe } from './checks.js';
import { ControlServer, DEFAULT_SOCKET_PATH, mayChangeState, type ControlRequest, type PeerCredentials } from './control.js';
import { Daemon } from './daemon.js';
import { createLogger, type Logger } from './logging.js';
import { checkMeansAtStart } from './means.js';
import { planDaemon, planInstances } from './plan.js';
import { currentIdentity, describeIdentity, preflightFile, type DaemonIdentity, type Preflight } from './preflight.js';
import { createRealHost } from './real-host.js';
import { DEFAULT_STATE_DIR, nextMirrorEpoch, prepareStateDir, readDrainState, readMirrorFloors, writeDrainState, writeMirrorFloors, type MirrorFloors } from './state.js';

export interface TextSink {
  write(text: string): unknown;
}

export interface SupervisorOptions {
  configPath: string;
  /** --socket; else the config's vrrpd.socket; else DEFAULT_SOCKET_PATH. */
  socketPath?: string | undefined;
  /** --log-level (already validated); else the config's vrrpd.log_level; else info. */
  logLevel?: string | undefined;
  /** Where the one-line reasons for not starting go (before there is a log): stderr. */
  errors: TextSink;
  /** Where the JSON log goes (stdout by default). */
  logDestination?: NodeJS.WritableStream;
  /** Called once every instance runs (systemd readiness). */
  onReady?: (log: Logger) => void;
  /** --state-dir: where the drain state survives restarts (default DEFAULT_STATE_DIR). */
  stateDir?: string | undefined;
  /** Enables the `debug-block` control command (tests of the stall guard). */
  debugCommands?: boolean;
}

/**
 * The wall clock the UDP mirror's counter epoch is taken from: it must move forward across a
 * restart even when the state file is lost (docs/protocol.md#udp-mirror). A counter seed, never a
 * timer.
 */
const mirrorEpochClockMs = (): number => Date.now();

export class Supervisor {
  private log: Logger | undefined;
  private daemon: Daemon | undefined;
  private notifier: Notifier | undefined;
  private fifos: NotifyFifos | undefined;
  private control: ControlServer | undefined;
  private metrics: Server | undefined;
  private identity: DaemonIdentity | undefined;
  /** The probes the last preflight prepared, by tracker name; the host takes them as checks start. */
  private prepared = new Map<string, Probe>();
  private reloading: Promise<void> = Promise.resolve();
  private stateDir = DEFAULT_STATE_DIR;
  private stopped = false;
  /** The UDP mirror's sockets, when `vrrpd.udp_mirror` is configured (docs/protocol.md#udp-mirror). */
  private mirror: MirrorSockets | undefined;

  constructor(private readonly options: SupervisorOptions) {}

  /** Start everything; resolves undefined once running, or with the exit code when it cannot run. */
  async start(): Promise<number | undefined> {
    const { configPath, errors } = this.options;
    // The same checks, in the same function, as `vrrpd check-config --user <this user>`.
    const identity = currentIdentity();
    this.identity = identity;
    const checked = await preflightFile(configPath, identity);
    if (checked.stage === 'load') {
      for (const issue of checked.errors) errors.write(`${formatIssue(issue, 'error')}\n`);
      for (const issue of checked.warnings) errors.write(`${formatIssue(issue, 'warning')}\n`);
      errors.write(`vrrpd: configuration rejected (${checked.errors.length} error(s)); nothing on the host was changed\n`);
      return 3;
    }
    if (!checked.ok) {
      for (const problem of checked.problems) errors.write(`config error in ${configPath}: ${problem}\n`);
      errors.write(`vrrpd: configuration rejected (checked as ${describeIdentity(identity)}); nothing on the host was changed\n`);
      return 3;
    }
    const config = checked.config;
    const log = createLogger((this.options.logLevel ?? config.vrrpd.log_level ?? 'info') as Parameters<typeof createLogger>[0], this.options.logDestination);
    this.log = log;
    this.logPreflight(checked);

    // The means before anything on the host is touched: without CAP_NET_RAW, or with none of the
    // interfaces, nothing can work; say which in one line. Less than that runs, in FAULT (means.ts).
    const means = checkMeansAtStart(planInstances(config), {
      capabilities: readEffectiveCapabilities(),
      interfaceExists: (ifname) => readIfindex(ifname) !== undefined,
    });
    if (!means.ok) {
      errors.write(`${means.line}\n`);
      return 1;
    }
    for (const warning of means.warnings) log.warn(warning);

    // From here on nothing vrrpd execs needs a capability (VIPs and GARP go through the addon), so
    // scripts and notify commands start without the daemon's (native-notes/capabilities.md).
    if (!this.dropChildCapabilities(config, log)) return 1;

    // The drain state before any instance exists: a drained node starts in FAULT and is never
    // MASTER, not even for a moment (docs/protocol.md#drain).
    const stateDir = this.options.stateDir ?? DEFAULT_STATE_DIR;
    const dirCheck = prepareStateDir(stateDir, identity.uid);
    if (!dirCheck.ok) {
      errors.write(`vrrpd: ${dirCheck.error}\n`);
      log.error({ state_dir: stateDir }, dirCheck.error);
      return 1;
    }
    const drain = readDrainState(stateDir);
    if (drain.problem !== undefined) log.error({ state_dir: stateDir }, drain.problem);
    else if (drain.state.all || drain.state.instances.length > 0) log.warn({ drain: drain.state }, "starting drained (vrrpd drain before the restart): out of elections until 'vrrpd undrain'");

    // The mirror's key and a fresh counter epoch, on disk before the first datagram (state.ts).
    let daemon: Daemon | undefined;
    let mirrorFloors: MirrorFloors | undefined;
    const mirrorConfig = config.vrrpd.udp_mirror;
    if (mirrorConfig !== undefined) {
      const key = readMirrorKey(mirrorConfig.key_file);
      if (!key.ok) {
        // The preflight judged the same file a moment ago; it changed in between.
        errors.write(`config error in ${configPath}: ${key.message}\nvrrpd: configuration rejected; nothing on the host was changed\n`);
        return 3;
      }
      let epoch: number;
      try {
        epoch = nextMirrorEpoch(stateDir, mirrorEpochClockMs());
      } catch (error) {
        const line = `cannot keep the UDP mirror's counter epoch in ${stateDir}: ${(error as Error).message}`;
        errors.write(`vrrpd: ${line}\n`);
        log.error({ state_dir: stateDir }, line);
        return 1;
      }
      this.mirror = new MirrorSockets(key.key, new MirrorCounter(epoch, () => nextMirrorEpoch(stateDir, mirrorEpochClockMs())), (error) => daemon?.reportIoError(error));
      log.info({ port: mirrorConfig.port, key_file: mirrorConfig.key_file, epoch }, `UDP mirror of the unicast adverts on port ${mirrorConfig.port}`);
      // The receive floors the previous run saved: datagrams it took stay refused (state.ts). A
      // file that cannot be parsed is said in one line and the mirror starts without floors, as
      // before there was a file: refusing to start would cost the node VRRP itself.
      const saved = readMirrorFloors(stateDir);
      if (saved.problem !== undefined) log.error({ state_dir: stateDir }, saved.problem);
      mirrorFloors = saved.floors;
    }

    const notifyLog = log.child({ component: 'notify' });
    const notifier = createNotifier({
      onResult: (result) => {
        const fields = { instance: result.instance, state: result.state, kind: result.kind, argv: result.argv, detail: result.detail, ms: result.durationMs };
        if (result.ok) notifyLog.info(fields, `${result.kind} done`);
        else notifyLog.warn(fields, `${result.kind} failed: ${result.detail}`);
      },
      ...(config.global_defs.script_user !== undefined ? { scriptUser: config.global_defs.script_user } : {}),
      enableScriptSecurity: config.global_defs.enable_script_security,
      euid: identity.uid,
      daemonCapabilities: identity.capabilities,
    });
    this.notifier = notifier;
    const fifos = new NotifyFifos({
      log: log.child({ component: 'notify_fifo' }),
      ...(config.global_defs.script_user !== undefined ? { scriptUser: config.global_defs.script_user } : {}),
      enableScriptSecurity: config.global_defs.enable_script_security,
      euid: identity.uid,
      daemonCapabilities: identity.capabilities,
    });
    this.fifos = fifos;
    const host = createRealHost({
      ...(this.mirror !== undefined ? { mirror: this.mirror, saveMirrorFloors: (floors: MirrorFloors) => writeMirrorFloors(stateDir, floors) } : {}),
      onIoError: (error) => daemon?.reportIoError(error),
      notifier,
      notifyFifo: (name, state, priority, subject) => fifos.transition(name, state, priority, subject),
      checkLog: log.child({ component: 'checks' }),
      takePreparedProbe: (name) => this.takePrepared(name),
    });
    daemon = new Daemon({ host, logger: log, configFile: configPath });
    daemon.engine.restoreDrain(drain.state);
    if (mirrorFloors !== undefined) daemon.engine.restoreMirrorFloors(mirrorFloors);
    this.daemon = daemon;
    this.stateDir = stateDir;
    this.prepare(checked);

    const socketPath = this.options.socketPath ?? config.vrrpd.socket ?? DEFAULT_SOCKET_PATH;
    const control: ControlServer = new ControlServer(socketPath, (request, peer) => this.answer(request, peer, control));
    try {
      await control.listen();
    } catch (error) {
      // A path that is not a socket, or one another vrrpd serves, is said in one line, without a stack.
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOTSOCK' || code === 'ESOCKETINUSE') log.error({ socket: socketPath, code }, `cannot open the control socket: ${(error as Error).message}`);
      else log.error({ err: error, socket: socketPath }, 'cannot open the control socket');
      return 1;
    }
    this.control = control;

    const metricsListen = config.vrrpd.metrics_listen;
    if (metricsListen !== undefined) {
      try {
        // Loaded only when asked for: prom-client is 1.8 MB of the idle daemon's 11.5 MB of live
        // heap (every full GC marks it) and ~180 ms of CPU at start, for an endpoint most
        // configurations (the seed's among them) do not open.
        const { createMetricsRegistry, serveMetrics } = await import('./metrics.js');
        this.metrics = await serveMetrics(
          metricsListen,
          createMetricsRegistry({
            status: () => daemon.status(),
            transitionCounts: () => daemon.transitionCounts(),
            secondsSinceLastAdvert: (instance) => daemon.secondsSinceLastAdvert(instance),
            stallCount: () => daemon.stallCount(),
          }),
        );
        log.info({ listen: metricsListen }, 'Prometheus metrics on /metrics');
      } catch (error) {
        log.error({ err: error, listen: metricsListen }, 'cannot open the metrics endpoint');
        await this.release();
        return 1;
      }
    }

    const startupDelayMs = config.global_defs.vrrp_startup_delay * 1000;
    if (startupDelayMs > 0) {
      log.info({ delay_ms: startupDelayMs }, 'vrrp_startup_delay: waiting before starting instances');
      await new Promise((resolve) => setTimeout(resolve, startupDelayMs));
    }
    // Opened last before the instances start, so nothing that fails first leaves a FIFO behind.
    fifos.configure(fifoSpecs(config.global_defs));
    try {
      await daemon.start(planDaemon(config));
    } catch (error) {
      log.error({ err: error }, 'vrrpd failed to start');
      await daemon.stop();
      await this.release();
      return 1;
    }
    this.closeUnusedPrepared();
    this.options.onReady?.(log);
    return undefined;
  }

  /** Re-read the file (SIGHUP). Reloads run one after the other, however fast they are asked for. */
  reload(): Promise<void> {
    this.reloading = this.reloading.then(() => this.reloadOnce());
    return this.reloading;
  }

  /** A line about the process's end that the CLI decides (a second signal, a stop that took too long). */
  note(level: 'info' | 'warn' | 'error', fields: Record<string, unknown>, message: string): void {
    if (this.log) this.log[level](fields, message);
    else this.options.errors.write(`vrrpd: ${message}\n`);
  }

  /** Graceful stop: goodbyes, VIPs removed, checks and sockets closed, notify_stop scripts finished. */
  async stop(reason?: string): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.log?.info(reason === undefined ? {} : { signal: reason }, 'stopping');
    await this.daemon?.stop();
    // Closes the notify FIFOs after the STOP lines, written as the instances stopped.
    await this.release();
    // notify_stop scripts get what is left of the stop deadline.
    await this.notifier?.drain();
  }

  private async reloadOnce(): Promise<void> {
    const daemon = this.daemon;
    const log = this.log;
    if (this.stopped || daemon === undefined || log === undefined || this.identity === undefined) return;
    // The checks `run` made at start, as the same user (the notify commands and a changed check
    // would otherwise only fail at their first run).
    const checked = await preflightFile(this.options.configPath, this.identity);
    if (checked.stage === 'load') {
      daemon.refuseReload(checked.errors.map((e) => formatIssue(e, 'error')));
      return;
    }
    if (!checked.ok) {
      daemon.refuseReload(checked.problems);
      return;
    }
    const mirrorConfig = checked.config.vrrpd.udp_mirror;
    if ((mirrorConfig === undefined) !== (this.mirror === undefined)) {
      daemon.refuseReload([`vrrpd.udp_mirror can only be turned ${this.mirror === undefined ? 'on' : 'off'} by a restart of vrrpd`]);
      return;
    }
    if (mirrorConfig !== undefined) {
      const key = readMirrorKey(mirrorConfig.key_file);
      if (!key.ok) {
        daemon.refuseReload([key.message]);
        return;
      }
      this.mirror?.setKey(key.key);
    }
    this.prepare(checked);
    // Before the engine's transitions, so a FIFO the new file names gets them.
    this.fifos?.configure(fifoSpecs(checked.config.global_defs));
    try {
      const summary = await daemon.reload(planDaemon(checked.config));
      this.logPreflight(checked);
      log.info(summary, 'reload applied');
    } catch (error) {
      daemon.refuseReload([(error as Error).message]);
    } finally {
      // Checks that did not change keep running with the probe they had; the new ones are not needed.
      this.closeUnusedPrepared();
    }
  }

  private logPreflight(checked: Extract<Preflight, { stage: 'host' }>): void {
    const log = this.log as Logger;
    for (const warning of checked.loadWarnings) log.warn({ file: warning.file, line: warning.line, path: warning.path }, formatIssue(warning, 'warning'));
    for (const warning of checked.warnings) log.warn({ file: this.options.configPath }, warning);
    for (const name of checked.trackers.untracked) log.info({ script: name }, `vrrp_script ${name} is not tracked by any instance; not running it`);
  }

  private dropChildCapabilities(config: VrrpdConfig, log: Logger): boolean {
    if (config.vrrpd.script_capabilities === 'inherit') {
      log.warn({ script_capabilities: 'inherit' }, "scripts and notify commands inherit vrrpd's ambient capabilities (vrrpd.script_capabilities: inherit)");
      return true;
    }
    const dropped = clearChildCapabilities();
    if (!dropped.ok) {
      log.error({ detail: dropped.message }, `scripts would inherit vrrpd's capabilities: ${dropped.message}; set vrrpd.script_capabilities: inherit to allow it`);
      return false;
    }
    if (dropped.inheritableKept !== undefined) log.info({ cleared: dropped.cleared }, dropped.inheritableKept);
    else if (dropped.cleared.length > 0) log.debug({ cleared: dropped.cleared }, 'scripts start without capabilities');
    return true;
  }

  private prepare(checked: Extract<Preflight, { stage: 'host' }>): void {
    this.closeUnusedPrepared();
    this.prepared = new Map(checked.trackers.checks.map(({ script, probe }) => [scriptTrackerName(script.name), probe]));
  }

  /** A prepared probe, handed out once. */
  private takePrepared(name: string): Probe | undefined {
    const probe = this.prepared.get(name);
    this.prepared.delete(name);
    return probe;
  }

  private closeUnusedPrepared(): void {
    for (const probe of this.prepared.values()) void probe.close();
    this.prepared.clear();
  }

  private answer(request: ControlRequest, peer: PeerCredentials | undefined, control: ControlServer): unknown {
    const daemon = this.daemon as Daemon;
    const { command, ms } = request;
    // Commands that change what the daemon does (debug-block stalls it): root and the socket's group
    // only; status stays open to whoever may connect.
    if (WRITE_COMMANDS.has(command) && !mayChangeState(peer, control.socketGid)) {
      const who = peer === undefined ? 'a client that could not be identified' : `uid ${peer.uid}`;
      this.log?.warn({ command, uid: peer?.uid ?? null, pid: peer?.pid ?? null }, `control: ${command} refused to ${who}`);
      throw new Error(`permission denied: '${command}' changes the daemon's state; only root and members of the control socket's group (gid ${control.socketGid ?? '?'}) may run it, not ${who}`);
    }
    switch (command) {
      case 'drain':
      case 'undrain': {
        const instance = request.instance;
        if (instance !== undefined && typeof instance !== 'string') throw new Error('"instance" must be a string');
        return command === 'drain' ? this.drain(daemon, instance) : this.undrain(daemon, instance);
      }
      case 'status':
        return { ...daemon.status(), trackers: daemon.checkStats(), notify: this.notifier?.stats(), notify_fifo: this.fifos?.stats(), control: control.stats() };
      case 'debug-block':
        // Test hook, off unless asked for: block the event loop in JS (a GC pause or a blocked disk
        // as far as Node is concerned), so tests can prove the stall guard.
        if (this.options.debugCommands !== true) throw new Error(`unknown command '${command}'`);
        blockEventLoop(Number(ms ?? 0));
        return { blocked_ms: Number(ms ?? 0) };
      default:
        throw new Error(`unknown command '${command}'`);
    }
  }

  /**
   * Save the new drain state, then apply it. A drain is applied even when it cannot be saved (the
   * node leaves the elections now; the reply says the drain would not survive a restart).
   */
  private drain(daemon: Daemon, instance: string | undefined): unknown {
    const engine = daemon.engine;
    const next = engine.nextDrain(true, instance);
    let saveError: string | null = null;
    try {
      writeDrainState(this.stateDir, next);
    } catch (error) {
      saveError = `the drain could not be saved in ${this.stateDir} (${(error as Error).message}): a restart would forget it`;
      this.log?.error({ state_dir: this.stateDir }, saveError);
    }
    const changed = daemon.applyDrain(next);
    const covered = instance === undefined ? engine.instanceNames : [instance];
    const vips = covered.flatMap((name) => engine.instanceVips(name).map((v) => ({ instance: name, address: formatIp(v.address), prefix_length: v.prefixLength, ifname: v.ifname })));
    return { drained: covered, changed: changed.drained, vips, state: next, save_error: saveError };
  }

  /** Save, then apply: an undrain that cannot be saved changes nothing (the node stays drained). */
  private undrain(daemon: Daemon, instance: string | undefined): unknown {
    const next = daemon.engine.nextDrain(false, instance);
    try {
      writeDrainState(this.stateDir, next);
    } catch (error) {
      throw new Error(`the undrain could not be saved in ${this.stateDir} (${(error as Error).message}); still drained`);
    }
    const changed = daemon.applyDrain(next);
    return { undrained: changed.undrained, state: next };
  }

  private async release(): Promise<void> {
    this.metrics?.close();
    this.metrics = undefined;
    this.mirror?.close();
    await this.control?.close();
    this.control = undefined;
    this.closeUnusedPrepared();
    this.fifos?.close();
  }
}

const WRITE_COMMANDS: ReadonlySet<string> = new Set(['drain', 'undrain', 'debug-block']);

function blockEventLoop(ms: number): void {
  const until = performance.now() + Math.min(Math.max(ms, 0), 60_000);
  while (performance.now() < until) {
    // spin: nothing else may run
  }
}
