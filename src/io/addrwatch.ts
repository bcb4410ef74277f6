/**
 * Notices IPv4 addresses deleted by someone else (NetworkManager, an operator's `ip addr flush`),
 * pushed by the kernel through `ip -o monitor address` (rtnetlink), so a MASTER learns within
 * milliseconds that its VIP is gone instead of black-holing traffic until the next restart.
 */
import { parseIpv4, type Ipv4 } from '../core/ip.js';
import type { IoError } from './errors.js';
import { runIpMonitor } from './ipmonitor.js';

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
  return runIpMonitor(['-4', 'monitor', 'address'], 'address.monitor', (line) => {
    const deleted = parseDeletedAddressLine(line);
    if (deleted) onDeleted(deleted.ifname, deleted.address);
  }, options);
}
