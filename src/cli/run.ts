/**
 * `vrrpd run` and `vrrpd release`. run: hand the daemon's life to the Supervisor (src/daemon) and
 * turn signals into its calls: SIGTERM/SIGINT stop it gracefully (a second signal, or a stop that
 * takes too long, exits at once), SIGHUP reloads. Resolves with the exit code.
 */
import { setFlagsFromString } from 'node:v8';
import { formatIp } from '../core/ip.js';
import { formatIssue, loadConfigFile } from '../config/load.js';
import { LOG_LEVELS } from '../daemon/logging.js';
import { instanceVips } from '../daemon/plan.js';
import { sdNotify, takeNotifySocket } from '../daemon/sd-notify.js';
import { Supervisor } from '../daemon/supervisor.js';
import { removeStale } from '../io/vip.js';

export interface RunOptions {
  configPath: string;
  /** --socket; else the config's vrrpd.socket; else DEFAULT_SOCKET_PATH. */
  socketPath: string | undefined;
  /** --log-level; else the config's vrrpd.log_level; else info. */
  logLevel: string | undefined;
  /** --state-dir; else /var/lib/vrrpd. */
  stateDir?: string | undefined;
}

/** Graceful stop must finish within 2 s; a MASTER's goodbye and VIP removal take a few ms. */
const STOP_DEADLINE_MS = 1800;

export async function runCommand(options: RunOptions): Promise<number> {
  // V8's memory reducer shrinks the heap once the daemon goes idle after start-up, with up to three
  // full GCs in a row; the first gives back the start-up garbage (13 -> 11 MB used, 30 -> 13 MB
  // committed), the next ones found almost nothing (11.5 -> 11.4 MB) and took 40-80 ms each on a
  // loaded 2-core machine (test/bench/idle-profile.ts with --trace-gc). One is enough. This flag is read
  // each time the reducer decides, so setting it here works; --no-memory-reducer would not (the
  // reducer exists from the heap's creation) and would keep the 17 MB of start-up heap for good.
  setFlagsFromString('--memory-reducer-single-gc');
  // Before any child starts (checks, `ip`), so none of them can speak to systemd for us.
  const notifySocket = takeNotifySocket();
  if (options.logLevel !== undefined && !(LOG_LEVELS as readonly string[]).includes(options.logLevel)) {
    process.stderr.write(`vrrpd: --log-level must be one of ${LOG_LEVELS.join(', ')}, got '${options.logLevel}'\n`);
    return 2;
  }
  const supervisor = new Supervisor({
    configPath: options.configPath,
    socketPath: options.socketPath,
    logLevel: options.logLevel,
    stateDir: options.stateDir,
    errors: process.stderr,
    debugCommands: process.env.VRRPD_DEBUG_COMMANDS === '1',
    // Type=notify: systemd considers the service started once the instances run.
    onReady: (log) => {
      void sdNotify(notifySocket, { READY: '1', STATUS: 'running' }).then((outcome) => {
        if (!outcome.sent && outcome.reason === 'failed') log.warn({ detail: outcome.message }, 'could not tell systemd that vrrpd is ready');
      });
    },
  });
  const failed = await supervisor.start();
  if (failed !== undefined) return failed;

  return new Promise<number>((resolve) => {
    let stopping = false;
    const reload = (): void => {
      void supervisor.reload();
    };
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        supervisor.note('warn', { signal }, 'second stop signal: exiting at once');
        process.exit(1);
      }
      stopping = true;
      const force = setTimeout(() => {
        supervisor.note('error', {}, 'graceful stop took too long: exiting');
        process.exit(1);
      }, STOP_DEADLINE_MS);
      force.unref();
      process.off('SIGHUP', reload);
      void supervisor.stop(signal).then(() => resolve(0));
    };
    // One handler per signal: the first starts the graceful stop, a second one forces exit.
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', reload);
  });
}

/** Remove every configured VIP that is present (after a crash; systemd ExecStopPost). */
export async function releaseCommand(configPath: string, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const loaded = await loadConfigFile(configPath);
  if (!loaded.ok) {
    for (const issue of loaded.errors) err.write(`${formatIssue(issue, 'error')}\n`);
    for (const issue of loaded.warnings) err.write(`${formatIssue(issue, 'warning')}\n`);
    return 3;
  }
  const outcome = await removeStale(instanceVips(loaded.config));
  for (const vip of outcome.removed) out.write(`released ${formatIp(vip.address)}/${vip.prefixLength} dev ${vip.ifname}\n`);
  for (const error of outcome.errors) err.write(`vrrpd release: ${error.message}\n`);
  if (outcome.removed.length === 0 && outcome.errors.length === 0) out.write('no virtual address to release\n');
  return outcome.errors.length > 0 ? 1 : 0;
}
