/** `vrrpd status [--socket PATH] [--json]`: ask the running daemon over its control socket. */
import { stat } from 'node:fs/promises';
import { controlRequest, type ControlStats } from '../daemon/control.js';
import { formatStatusTable, type DaemonStatus } from '../daemon/status.js';

/** The control socket's bounds at work, one line, or nothing while they have done nothing. */
function controlLine(control: ControlStats | undefined): string {
  if (control === undefined || control.refused_at_cap + control.timed_out + control.dropped_backpressure === 0) return '';
  return `control socket: ${control.refused_at_cap} connection(s) refused at the cap of ${control.max_connections}, ${control.timed_out} timed out, ${control.dropped_backpressure} dropped for not reading their replies\n`;
}

export async function statusCommand(socketPath: string, json: boolean, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  // Looked at before connecting, so that a wrong --socket is named for what it is, not reported as
  // "no vrrpd is running". stat(), not lstat(): connect() follows a symlink too.
  const kind = await stat(socketPath).then((s) => (s.isSocket() ? 'socket' : 'other'), () => 'absent');
  if (kind === 'other') {
    err.write(`vrrpd status: ${socketPath} is not a socket; pass the daemon's control socket with --socket\n`);
    return 1;
  }
  let status: DaemonStatus & { control?: ControlStats };
  try {
    status = (await controlRequest(socketPath, { command: 'status' })) as DaemonStatus & { control?: ControlStats };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ECONNREFUSED') {
      err.write(`vrrpd status: no vrrpd is running (nothing listens on ${socketPath}); start it with 'vrrpd run --config FILE' or pass --socket\n`);
    } else if (code === 'EACCES') {
      err.write(`vrrpd status: permission denied on ${socketPath}; run as root or as a member of the socket's group\n`);
    } else {
      err.write(`vrrpd status: ${(error as Error).message}\n`);
    }
    return 1;
  }
  out.write(json ? JSON.stringify({ instances: status.instances, daemon: { ...status, instances: undefined } }, null, 2) + '\n' : formatStatusTable(status) + controlLine(status.control));
  return 0;
}
