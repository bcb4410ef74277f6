/**
 * One long-running `ip -o monitor ...` (rtnetlink events pushed by the kernel, one line each),
 * restarted if it exits, until closed. The link and address watchers are built on it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { IoError, toIoError } from './errors.js';

export interface IpMonitorOptions {
  onError?: (error: IoError) => void;
  /** Called each time a monitor process has started (to re-read state it may have missed). */
  onStart?: () => void;
  /** Delay before restarting a monitor that exited. Default 1000 ms. */
  restartDelayMs?: number;
  /** The ip binary. Default 'ip' from PATH. */
  ipCommand?: string;
}

/** `operation` names the watcher in errors, e.g. 'link.monitor'. */
export function runIpMonitor(args: readonly string[], operation: string, onLine: (line: string) => void, options: IpMonitorOptions = {}): { close(): void } {
  let closed = false;
  let monitor: ChildProcess | undefined;
  let restartTimer: NodeJS.Timeout | undefined;
  const report = (error: IoError): void => options.onError?.(error);

  const start = (): void => {
    if (closed) return;
    const child = spawn(options.ipCommand ?? 'ip', ['-o', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    monitor = child;
    child.on('error', (error) => report(toIoError(operation, error)));
    if (options.onStart) child.on('spawn', options.onStart);
    child.on('exit', (code, signal) => {
      if (monitor === child) monitor = undefined;
      if (closed) return;
      report(new IoError('EMONITOR', operation, `ip monitor exited (code ${code}, signal ${signal}); restarting`));
      restartTimer = setTimeout(start, options.restartDelayMs ?? 1000);
    });
    child.stderr?.resume();
    createInterface({ input: child.stdout! }).on('line', onLine);
  };
  start();
  return {
    close() {
      closed = true;
      if (restartTimer !== undefined) clearTimeout(restartTimer);
      monitor?.kill();
      monitor = undefined;
    },
  };
}
