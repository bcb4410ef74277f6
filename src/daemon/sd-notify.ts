/**
 * systemd readiness (Type=notify) from Node. The protocol is one datagram to the AF_UNIX socket
 * named by $NOTIFY_SOCKET; node:net has no datagram unix sockets and node:dgram no AF_UNIX, so the
 * datagram is sent by systemd's own `systemd-notify`, run as a child. The unit therefore needs
 * NotifyAccess=all (the sender is not the main PID). systemd-notify (systemd >= 246) follows the
 * message with BARRIER=1 and waits until systemd has processed it, so the message is not dropped
 * when the short-lived child has already exited by the time systemd looks up its cgroup.
 *
 * takeNotifySocket() removes NOTIFY_SOCKET from this process's environment, so that check scripts
 * and `ip` children never see it: with NotifyAccess=all, anything holding the path could otherwise
 * tell systemd the service is ready or stopping.
 */
import { execFile } from 'node:child_process';

export type NotifyOutcome =
  | { sent: true }
  | { sent: false; reason: 'no-socket' }
  | { sent: false; reason: 'failed'; message: string };

export interface NotifyOptions {
  /** The notifier to run; default `systemd-notify` from PATH. */
  command?: string;
  /** Give up after this long (systemd busy, or the socket gone). Default 5000 ms. */
  timeoutMs?: number;
}

/** Read $NOTIFY_SOCKET once and remove it from `env`; undefined when not started by systemd. */
export function takeNotifySocket(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const socket = env['NOTIFY_SOCKET'];
  delete env['NOTIFY_SOCKET'];
  return socket === undefined || socket === '' ? undefined : socket;
}

/**
 * Send `fields` (e.g. { READY: '1', STATUS: '...' }) to systemd. Never throws: without a socket it
 * does nothing; a missing systemd-notify, a non-zero exit or a timeout come back as `failed`.
 */
export function sdNotify(socket: string | undefined, fields: Record<string, string>, options: NotifyOptions = {}): Promise<NotifyOutcome> {
  if (socket === undefined) return Promise.resolve({ sent: false, reason: 'no-socket' });
  // One assignment per argument; a newline inside a value would start a new field in the datagram.
  const args = Object.entries(fields).map(([key, value]) => `${key}=${value.replace(/\n/g, ' ')}`);
  const env: NodeJS.ProcessEnv = { NOTIFY_SOCKET: socket };
  if (process.env['PATH'] !== undefined) env['PATH'] = process.env['PATH'];
  return new Promise((resolve) => {
    execFile(options.command ?? 'systemd-notify', args, { env, timeout: options.timeoutMs ?? 5000 }, (error, _stdout, stderr) => {
      if (error === null) {
        resolve({ sent: true });
        return;
      }
      const detail = stderr.trim() !== '' ? stderr.trim() : error.message;
      resolve({ sent: false, reason: 'failed', message: `systemd-notify ${args.join(' ')}: ${detail}` });
    });
  });
}
