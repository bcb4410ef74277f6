/**
 * `vrrpd run` and `vrrpd release`. run: validate everything that can be validated (the config,
 * every script and notify command) before touching the host (exit 3 on errors), then start the
 * health checks, the control socket, the daemon and the signal handlers, and resolve with the exit
 * code when the daemon has stopped.
 */
import type { Server } from 'node:http';
import { performance } from 'node:perf_hooks';
import { formatIpv4 } from '../core/ip.js';
import { formatIssue, loadConfigFile, type ConfigIssue } from '../config/load.js';
import type { VrrpdConfig } from '../config/model.js';
import { ControlServer, DEFAULT_SOCKET_PATH } from '../daemon/control.js';
import { Daemon } from '../daemon/daemon.js';
import { createLogger, LOG_LEVELS, type Logger } from '../daemon/logging.js';
import { createMetricsRegistry, serveMetrics } from '../daemon/metrics.js';
import { instanceVips, planDaemon } from '../daemon/plan.js';
import { createRealHost } from '../daemon/real-host.js';
import { sdNotify, takeNotifySocket } from '../daemon/sd-notify.js';
import { checkProbes, TrackerSetupError } from '../io/checks.js';
import { checkNotifyCommands, createNotifier } from '../io/notify.js';
import { removeStale } from '../io/vip.js';

export interface RunOptions {
  configPath: string;
  /** --socket; else the config's vrrpd.socket; else DEFAULT_SOCKET_PATH. */
  socketPath: string | undefined;
  /** --log-level; else the config's vrrpd.log_level; else info. */
  logLevel: string | undefined;
}

/** Graceful stop must finish within 2 s; a MASTER's goodbye and VIP removal take a few ms. */
const STOP_DEADLINE_MS = 1800;

type Loaded = { ok: true; config: VrrpdConfig; warnings: ConfigIssue[] } | { ok: false; errors: ConfigIssue[] };

async function load(path: string, err: NodeJS.WritableStream): Promise<Loaded> {
  const result = await loadConfigFile(path);
  if (!result.ok) {
    for (const issue of result.errors) err.write(`${formatIssue(issue, 'error')}\n`);
    for (const issue of result.warnings) err.write(`${formatIssue(issue, 'warning')}\n`);
    return { ok: false, errors: result.errors };
  }
  return result;
}

/** Problems found in the scripts a config would run (security, PATH, user), one message each. */
function commandProblems(config: VrrpdConfig): string[] {
  return checkNotifyCommands(config);
}

export async function runCommand(options: RunOptions): Promise<number> {
  // Before any child starts (checks, `ip`), so none of them can speak to systemd for us.
  const notifySocket = takeNotifySocket();
  if (options.logLevel !== undefined && !(LOG_LEVELS as readonly string[]).includes(options.logLevel)) {
    process.stderr.write(`vrrpd: --log-level must be one of ${LOG_LEVELS.join(', ')}, got '${options.logLevel}'\n`);
    return 2;
  }
  const loaded = await load(options.configPath, process.stderr);
  if (!loaded.ok) {
    process.stderr.write(`vrrpd: configuration rejected (${loaded.errors.length} error(s)); nothing on the host was changed\n`);
    return 3;
  }
  const problems = commandProblems(loaded.config);
  if (problems.length > 0) {
    for (const problem of problems) process.stderr.write(`config error in ${options.configPath}: ${problem}\n`);
    process.stderr.write('vrrpd: configuration rejected; nothing on the host was changed\n');
    return 3;
  }
  const config = loaded.config;
  const socketPath = options.socketPath ?? config.vrrpd.socket ?? DEFAULT_SOCKET_PATH;
  const log = createLogger((options.logLevel ?? config.vrrpd.log_level ?? 'info') as Parameters<typeof createLogger>[0]);
  for (const warning of loaded.warnings) log.warn({ file: warning.file, line: warning.line, path: warning.path }, formatIssue(warning, 'warning'));

  try {
    checkProbes(config, log.child({ component: 'checks' }));
  } catch (error) {
    if (!(error instanceof TrackerSetupError)) throw error;
    for (const problem of error.problems) process.stderr.write(`config error in ${options.configPath}: ${problem}\n`);
    process.stderr.write('vrrpd: configuration rejected; nothing on the host was changed\n');
    return 3;
  }

  // Notify scripts: in order per instance, with a timeout, never blocking the protocol.
  const notifyLog = log.child({ component: 'notify' });
  const notifier = createNotifier({
    onResult: (result) => {
      const fields = { instance: result.instance, state: result.state, kind: result.kind, argv: result.argv, detail: result.detail, ms: result.durationMs };
      if (result.ok) notifyLog.info(fields, `${result.kind} done`);
      else notifyLog.warn(fields, `${result.kind} failed: ${result.detail}`);
    },
    ...(config.global_defs.script_user !== undefined ? { scriptUser: config.global_defs.script_user } : {}),
    enableScriptSecurity: config.global_defs.enable_script_security,
  });
  const host = createRealHost({ onIoError: (error) => log.warn({ err: error }, 'io error'), notifier, checkLog: log.child({ component: 'checks' }) });
  const daemon = new Daemon({ host, logger: log, configFile: options.configPath });

  const control: ControlServer = new ControlServer(socketPath, (request) => {
    switch (request.command) {
      case 'status':
        return { ...daemon.status(), trackers: daemon.checkStats(), notify: notifier.stats(), control: control.stats() };
      case 'debug-block':
        // Test hook, off unless VRRPD_DEBUG_COMMANDS=1: block the event loop in JS (a GC pause or a
        // blocked disk as far as Node is concerned), so tests can prove the stall guard.
        if (process.env.VRRPD_DEBUG_COMMANDS !== '1') throw new Error(`unknown command '${request.command}'`);
        blockEventLoop(Number(request.ms ?? 0));
        return { blocked_ms: Number(request.ms ?? 0) };
      default:
        throw new Error(`unknown command '${request.command}'`);
    }
  });
  const cleanup = async (): Promise<void> => {
    await control.close();
  };
  try {
    await control.listen();
  } catch (error) {
    // A path that is not a socket, or one another vrrpd serves, is said in one line, without a stack.
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTSOCK' || code === 'ESOCKETINUSE') log.error({ socket: socketPath, code }, `cannot open the control socket: ${(error as Error).message}`);
    else log.error({ err: error, socket: socketPath }, 'cannot open the control socket');
    return 1;
  }

  let metrics: Server | undefined;
  const metricsListen = config.vrrpd.metrics_listen;
  if (metricsListen !== undefined) {
    try {
      metrics = await serveMetrics(metricsListen, createMetricsRegistry({
        status: () => daemon.status(),
        transitionCounts: () => daemon.transitionCounts(),
        secondsSinceLastAdvert: (instance) => daemon.secondsSinceLastAdvert(instance),
        stallCount: () => daemon.stallCount(),
      }));
      log.info({ listen: metricsListen }, 'Prometheus metrics on /metrics');
    } catch (error) {
      log.error({ err: error, listen: metricsListen }, 'cannot open the metrics endpoint');
      await cleanup();
      return 1;
    }
  }

  const startupDelayMs = config.global_defs.vrrp_startup_delay * 1000;
  if (startupDelayMs > 0) {
    log.info({ delay_ms: startupDelayMs }, 'vrrp_startup_delay: waiting before starting instances');
    await new Promise((resolve) => setTimeout(resolve, startupDelayMs));
  }
  try {
    await daemon.start(planDaemon(config));
  } catch (error) {
    log.error({ err: error }, 'vrrpd failed to start');
    await daemon.stop();
    metrics?.close();
    await cleanup();
    return 1;
  }
  // Type=notify: systemd considers the service started once the instances run.
  void sdNotify(notifySocket, { READY: '1', STATUS: 'running' }).then((outcome) => {
    if (!outcome.sent && outcome.reason === 'failed') log.warn({ detail: outcome.message }, 'could not tell systemd that vrrpd is ready');
  });

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        log.warn({ signal }, 'second stop signal: exiting at once');
        process.exit(1);
      }
      stopping = true;
      log.info({ signal }, 'stopping');
      const force = setTimeout(() => {
        log.error('graceful stop took too long: exiting');
        process.exit(1);
      }, STOP_DEADLINE_MS);
      force.unref();
      void (async () => {
        await daemon.stop();
        metrics?.close();
        await cleanup();
        // notify_stop scripts get what is left of the stop deadline.
        await notifier.drain();
        process.off('SIGHUP', reload);
        resolve(0);
      })();
    };
    // Reloads run one after the other, however fast SIGHUPs arrive.
    let reloading: Promise<void> = Promise.resolve();
    const reload = (): void => {
      reloading = reloading.then(async () => {
        if (stopping) return;
        const result = await loadConfigFile(options.configPath);
        if (!result.ok) {
          daemon.refuseReload(result.errors.map((e) => formatIssue(e, 'error')));
          return;
        }
        const problemsNow = commandProblems(result.config);
        try {
          checkProbes(result.config, log.child({ component: 'checks' }));
        } catch (error) {
          if (!(error instanceof TrackerSetupError)) throw error;
          problemsNow.push(...error.problems);
        }
        if (problemsNow.length > 0) {
          daemon.refuseReload(problemsNow);
          return;
        }
        try {
          const summary = await daemon.reload(planDaemon(result.config));
          for (const warning of result.warnings) log.warn({ file: warning.file, line: warning.line, path: warning.path }, formatIssue(warning, 'warning'));
          log.info(summary, 'reload applied');
        } catch (error) {
          daemon.refuseReload([(error as Error).message]);
        }
      });
    };
    // One handler per signal: the first starts the graceful stop, a second one forces exit.
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', reload);
  });
}

function blockEventLoop(ms: number): void {
  const until = performance.now() + Math.min(Math.max(ms, 0), 60_000);
  while (performance.now() < until) {
    // spin: nothing else may run
  }
}

/** Remove every configured VIP that is present (after a crash; systemd ExecStopPost). */
export async function releaseCommand(configPath: string, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const loaded = await load(configPath, err);
  if (!loaded.ok) return 3;
  const outcome = await removeStale(instanceVips(loaded.config));
  for (const vip of outcome.removed) out.write(`released ${formatIpv4(vip.address)}/${vip.prefixLength} dev ${vip.ifname}\n`);
  for (const error of outcome.errors) err.write(`vrrpd release: ${error.message}\n`);
  if (outcome.removed.length === 0 && outcome.errors.length === 0) out.write('no virtual address to release\n');
  return outcome.errors.length > 0 ? 1 : 0;
}
