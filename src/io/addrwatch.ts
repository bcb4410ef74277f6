/**
 * Notices IPv4 addresses deleted by someone else (NetworkManager, an operator's `ip addr flush`),
 * pushed by the kernel through `ip -o monitor address` (rtnetlink), so a MASTER learns within
 * milliseconds that its VIP is gone instead of black-holing traffic until the next restart.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { parseIpv4, type Ipv4 } from '../core/ip.js';
import { IoError, toIoError } from './errors.js';

export interface AddressWatcher {
  close(): void;
}

/** `Deleted 2: ens32    inet 10.0.0.50/32 scope global ens32\ ...` -> { ifname, address } */
export function parseDeletedAddressLine(line: string): { ifname: string; address: Ipv4 } | undefined {
  const match = /^Deleted\s+\d+:\s+(\S+)\s+inet\s+(\d+\.\d+\.\d+\.\d+)\//.exec(line);
  if (!match) return undefined;
  const address = parseIpv4(match[2]!);
  return address === undefined ? undefined : { ifname: match[1]!, address };
}

export function watchDeletedAddresses(
  onDeleted: (ifname: string, address: Ipv4) => void,
  options: { onError?: (error: IoError) => void; restartDelayMs?: number; ipCommand?: string } = {},
): AddressWatcher {
  let closed = false;
  let monitor: ChildProcess | undefined;
  let restartTimer: NodeJS.Timeout | undefined;
  const report = (error: IoError): void => options.onError?.(error);

  const start = (): void => {
    if (closed) return;
    const child = spawn(options.ipCommand ?? 'ip', ['-o', '-4', 'monitor', 'address'], { stdio: ['ignore', 'pipe', 'pipe'] });
    monitor = child;
    child.on('error', (error) => report(toIoError('address.monitor', error)));
    child.on('exit', (code, signal) => {
      if (monitor === child) monitor = undefined;
      if (closed) return;
      report(new IoError('EMONITOR', 'address.monitor', `ip monitor exited (code ${code}, signal ${signal}); restarting`));
      restartTimer = setTimeout(start, options.restartDelayMs ?? 1000);
    });
    child.stderr?.resume();
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const deleted = parseDeletedAddressLine(line);
      if (deleted) onDeleted(deleted.ifname, deleted.address);
    });
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
