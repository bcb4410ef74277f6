/**
 * Notices IPv4 and IPv6 addresses deleted by someone else (NetworkManager, an operator's `ip addr flush`),
 * pushed by the kernel through `ip -o monitor address` (rtnetlink), so a MASTER learns within
 * milliseconds that its VIP is gone instead of black-holing traffic until the next restart.
 */
import { parseIpv4, parseIpv6, type IpAddress } from '../core/ip.js';
import type { IoError } from './errors.js';
import { runIpMonitor } from './ipmonitor.js';

export interface AddressWatcher {
  close(): void;
}

/**
 * `Deleted 2: ens32    inet 10.0.0.50/32 scope global ens32\ ...` or
 * `Deleted 2: ens32    inet6 fd00::50/64 scope global nodad ...` -> { ifname, address }
 */
export function parseDeletedAddressLine(line: string): { ifname: string; address: IpAddress } | undefined {
  const match = /^Deleted\s+\d+:\s+(\S+)\s+(inet6?)\s+([0-9A-Fa-f.:]+)\//.exec(line);
  if (!match) return undefined;
  const address = match[2] === 'inet6' ? parseIpv6(match[3]!) : parseIpv4(match[3]!);
  return address === undefined ? undefined : { ifname: match[1]!, address };
}

export function watchDeletedAddresses(
  onDeleted: (ifname: string, address: IpAddress) => void,
  options: { onError?: (error: IoError) => void; restartDelayMs?: number; ipCommand?: string } = {},
): AddressWatcher {
  // Both families: an IPv6 VIP deleted behind a MASTER's back matters as much as an IPv4 one.
  return runIpMonitor(['monitor', 'address'], 'address.monitor', (line) => {
    const deleted = parseDeletedAddressLine(line);
    if (deleted) onDeleted(deleted.ifname, deleted.address);
  }, options);
}
