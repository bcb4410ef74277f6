/**
 * `vrrpd run` and `vrrpd release`. run: validate the config before touching the host (exit 3 on
 * errors), then start the daemon, the control socket and the signal handlers, and resolve with
 * the exit code when the daemon has stopped.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { formatIpv4 } from '../core/ip.js';
import { formatIssue, loadConfigFile, type ConfigIssue } from '../config/load.js';
import type { VrrpdConfig } from '../config/model.js';
import { ControlServer } from '../daemon/control.js';
import { Daemon } from '../daemon/daemon.js';
import { createLogger, LOG_LEVELS } from '../daemon/logging.js';
import { instanceVips, planInstances } from '../daemon/plan.js';
import { createRealHost } from '../daemon/real-host.js';
import { removeStale } from '../io/vip.js';

export interface RunOptions {
  configPath: string;
  socketPath: string;
  logLevel: string;
}

/** Graceful stop must finish within this; a MASTER's goodbye and VIP removal take a few ms. */
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

export async function runCommand(options: RunOptions): Promise<number> {
  if (!(LOG_LEVELS as readonly string[]).includes(options.logLevel)) {
    process.stderr.write(`vrrpd: --log-level must be one of ${LOG_LEVELS.join(', ')}, got '${options.logLevel}'\n`);
    return 2;
  }
  const loaded = await load(options.configPath, process.stderr);
  if (!loaded.ok) {
    process.stderr.write(`vrrpd: configuration rejected (${loaded.errors.length} error(s)); nothing on the host was changed\n`);
    return 3;
  }
  const log = createLogger(options.logLevel as Parameters<typeof createLogger>[0]);
  for (const warning of loaded.warnings) log.warn({ file: warning.file, line: warning.line, path: warning.path }, formatIssue(warning, 'warning'));

  const host = createRealHost((error) => log.warn({ err: error }, 'io error'));
  const daemon = new Daemon({ host, logger: log, configFile: options.configPath });
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const lagTimer = setInterval(() => {
    daemon.eventLoopLagMs = Math.round(lag.max / 1e6);
    lag.reset();
  }, 60_000);
  lagTimer.unref();

  const control = new ControlServer(options.socketPath, (request) => {
    switch (request.command) {
      case 'status':
        daemon.eventLoopLagMs = Math.max(daemon.eventLoopLagMs, Math.round(lag.max / 1e6));
        return daemon.status();
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
  try {
    await control.listen();
  } catch (error) {
    log.error({ err: error, socket: options.socketPath }, 'cannot open the control socket');
    return 1;
  }

  const startupDelayMs = loaded.config.global_defs.vrrp_startup_delay * 1000;
  if (startupDelayMs > 0) {
    log.info({ delay_ms: startupDelayMs }, 'vrrp_startup_delay: waiting before starting instances');
    await new Promise((resolve) => setTimeout(resolve, startupDelayMs));
  }
  try {
    await daemon.start(planInstances(loaded.config));
  } catch (error) {
    log.error({ err: error }, 'vrrpd failed to start');
    await daemon.stop();
    await control.close();
    return 1;
  }

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
      void daemon
        .stop()
        .then(() => control.close())
        .then(() => {
          clearInterval(lagTimer);
          lag.disable();
          process.off('SIGHUP', reload);
          resolve(0);
        });
    };
    // Reloads run one after the other, however fast SIGHUPs arrive.
    let reloading: Promise<void> = Promise.resolve();
    const reload = (): void => {
      reloading = reloading.then(async () => {
        if (stopping) return;
        const result = await loadConfigFile(options.configPath);
        if (!result.ok) {
          daemon.lastReloadError = result.errors.map((e) => formatIssue(e, 'error')).join('; ');
          log.error({ errors: result.errors.map((e) => formatIssue(e, 'error')) }, 'reload refused: the new configuration is invalid; the running one stays');
          return;
        }
        try {
          const summary = await daemon.reload(planInstances(result.config));
          daemon.lastReloadError = null;
          for (const warning of result.warnings) log.warn({ file: warning.file, line: warning.line, path: warning.path }, formatIssue(warning, 'warning'));
          log.info(summary, 'reload applied');
        } catch (error) {
          daemon.lastReloadError = (error as Error).message;
          log.error({ err: error }, 'reload failed; the instances above keep running');
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
