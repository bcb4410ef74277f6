/** `vrrpd status [--socket PATH] [--json]`: ask the running daemon over its control socket. */
import { controlRequest } from '../daemon/control.js';
import { formatStatusTable, type DaemonStatus } from '../daemon/status.js';

export async function statusCommand(socketPath: string, json: boolean, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  let status: DaemonStatus;
  try {
    status = (await controlRequest(socketPath, { command: 'status' })) as DaemonStatus;
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
  out.write(json ? JSON.stringify({ instances: status.instances, daemon: { ...status, instances: undefined } }, null, 2) + '\n' : formatStatusTable(status));
  return 0;
}
