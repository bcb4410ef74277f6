/**
 * VRRPv3 over IPv6 on a raw IPv6 socket of the native addon (src/io/native/vrrp6.c), one per
 * interface, shared by every IPv6 instance on it. The IPv4 transport (transport.ts) stays on npm
 * raw-socket; this one cannot (native-notes/ipv6.md): an IPv6 raw socket hands over no IP header,
 * so the hop limit and the destination of each advert come as ancillary data of recvmsg(), and the
 * source of each advert is set with IPV6_PKTINFO on sendmsg(). The addon rebuilds a 40-byte IPv6
 * header from what recvmsg reported, so the core judges IPv6 adverts as it judges IPv4 packets.
 */
import { readFileSync } from 'node:fs';
import type { Ipv6 } from '../core/ip.js';
import { formatIpv6, ipv6Bytes, isIpv6Multicast } from '../core/ip.js';
import { receivedAtFromAge, runDueChores, startChore } from './clock.js';
import { IoError, toIoError } from './errors.js';
import { isValidIfname, readIfindex } from './link.js';
import { loadPacketAddon } from './native.js';

export interface Send6Options {
  /** The link-local address of the interface, or unicast_src_ip. */
  source: Ipv6;
  /** [ff02::12] in multicast mode, else every unicast peer (one packet each). */
  destinations: readonly Ipv6[];
}

export interface Transport6Handlers {
  /**
   * A rebuilt IPv6 header + the VRRP message that arrived on ifname. Copied; keep it. receivedAtMs:
   * when the kernel received it (SO_TIMESTAMPNS), monotonic ms; undefined without a stamp.
   */
  onPacket(bytes: Uint8Array, ifname: string, receivedAtMs?: number): void;
  onError(error: IoError): void;
  onOpen?(ifname: string): void;
}

export interface Transport6Options {
  /** Join ff02::12 on this interface. Default true. */
  multicast?: boolean;
  /** Retry opening after this long. Default 1000 ms. */
  reopenDelayMs?: number;
}

export interface Vrrp6Transport {
  readonly ifname: string;
  readonly isOpen: boolean;
  send(payload: Uint8Array, options: Send6Options): void;
  reopen(): void;
  close(): void;
}

/** What vrrp6.c exports (absent from an addon built before it existed). */
interface Vrrp6Addon {
  /** onPacket's second argument: the packet's receive-stamp age in ms, or with a null packet the errno name. */
  open6?(ifname: string, multicast: boolean, onPacket: (packet: Buffer | null, detail?: string | number) => void): number;
  send6?(handle: number, payload: Uint8Array, source: Uint8Array | null, destination: Uint8Array): void;
  close6?(handle: number): void;
}

/**
 * The interface's link-local IPv6 address (fe80::/10), the source of its multicast adverts
 * (RFC 5798 5.1.2.1), from /proc/net/if_inet6: undefined while it has none (IPv6 off, the link
 * not up yet, or DAD still running or failed: such an address cannot be a source).
 */
export function readLinkLocal6(ifname: string, text?: string): Ipv6 | undefined {
  let table = text;
  if (table === undefined) {
    try {
      table = readFileSync('/proc/net/if_inet6', 'utf8');
    } catch {
      return undefined;
    }
  }
  for (const line of table.split('\n')) {
    // address ifindex prefixlen scope flags name; scope 0x20 = link.
    const fields = line.trim().split(/\s+/);
    if (fields.length < 6 || fields[5] !== ifname || fields[3] !== '20') continue;
    const flags = parseInt(fields[4] as string, 16);
    if ((flags & 0x40) !== 0 || (flags & 0x08) !== 0) continue; // IFA_F_TENTATIVE, IFA_F_DADFAILED
    if (!/^[0-9a-f]{32}$/.test(fields[0] as string)) continue;
    return BigInt(`0x${fields[0] as string}`);
  }
  return undefined;
}

/**
 * Open the IPv6 VRRP socket for one interface. Never throws: a missing interface, a missing
 * capability or a socket error is reported through onError and retried every reopenDelayMs until
 * close().
 */
export function openTransport6(ifname: string, handlers: Transport6Handlers, options: Transport6Options = {}): Vrrp6Transport {
  const reopenDelayMs = options.reopenDelayMs ?? 1000;
  const multicast = options.multicast ?? true;
  let handle: number | undefined;
  let boundIfindex: number | undefined;
  let closed = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let addon: Vrrp6Addon | undefined;

  const report = (error: IoError): void => {
    try {
      handlers.onError(error);
    } catch {
      // A throwing error handler must not turn a send failure into a crash.
    }
  };

  const scheduleRetry = (): void => {
    if (closed || retryTimer !== undefined) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      open();
    }, reopenDelayMs);
  };

  const dropSocket = (): void => {
    const current = handle;
    handle = undefined;
    boundIfindex = undefined;
    if (current === undefined || addon?.close6 === undefined) return;
    try {
      addon.close6(current);
    } catch {
      // nothing left to release
    }
  };

  const open = (): void => {
    if (closed) return;
    dropSocket();
    if (!isValidIfname(ifname)) {
      report(new IoError('EINVAL', 'transport6.open', `bad interface name ${JSON.stringify(ifname)}`));
      return;
    }
    try {
      addon = loadPacketAddon() as Vrrp6Addon;
    } catch (error) {
      report(toIoError('transport6.open', error));
      scheduleRetry();
      return;
    }
    if (addon.open6 === undefined) {
      report(new IoError('ENOADDON', 'transport6.open', 'the vrrpd_packet addon has no IPv6 transport: rebuild it (`npm run install`)'));
      return;
    }
    const ifindex = readIfindex(ifname);
    if (ifindex === undefined) {
      report(new IoError('ENODEV', 'transport6.open', `no interface ${ifname}`));
      scheduleRetry();
      return;
    }
    let opened: number;
    try {
      opened = addon.open6(ifname, multicast, (packet, detail) => {
        if (handle !== opened) return;
        if (packet === null) {
          report(new IoError(typeof detail === 'string' ? detail : 'EIO', 'transport6.socket', `IPv6 VRRP socket on ${ifname} failed; reopening`));
          dropSocket();
          scheduleRetry();
          return;
        }
        try {
          handlers.onPacket(new Uint8Array(packet), ifname, receivedAtFromAge(typeof detail === 'number' ? detail : undefined));
        } catch (error) {
          report(toIoError('transport6.receive', error));
        }
        runDueChores();
      });
    } catch (error) {
      report(toIoError('transport6.open', error));
      scheduleRetry();
      return;
    }
    handle = opened;
    boundIfindex = ifindex;
    try {
      handlers.onOpen?.(ifname);
    } catch (error) {
      report(toIoError('transport6.open', error));
    }
  };

  open();

  // The socket is bound to an ifindex: a re-created interface needs a new one (as transport.ts).
  const checkBinding = (): void => {
    if (closed || handle === undefined) return;
    const ifindex = readIfindex(ifname);
    if (ifindex === boundIfindex) return;
    report(
      new IoError(
        ifindex === undefined ? 'ENODEV' : 'EIFCHANGED',
        'transport6.watch',
        ifindex === undefined ? `${ifname} disappeared; reopening when it is back` : `${ifname} was re-created (ifindex ${boundIfindex} -> ${ifindex}); reopening`,
      ),
    );
    if (ifindex === undefined) {
      dropSocket();
      scheduleRetry();
    } else {
      open();
    }
  };
  const watchdog = startChore(checkBinding, reopenDelayMs, { unref: true });

  return {
    ifname,
    get isOpen() {
      return handle !== undefined;
    },
    send(payload, sendOptions) {
      if (closed) {
        report(new IoError('ECLOSED', 'transport6.send', `IPv6 transport on ${ifname} is closed`));
        return;
      }
      const current = handle;
      if (current === undefined || addon?.send6 === undefined) {
        report(new IoError('ENOTOPEN', 'transport6.send', `no IPv6 socket on ${ifname} yet (retrying)`));
        return;
      }
      const source = sendOptions.source === 0n ? null : ipv6Bytes(sendOptions.source);
      for (const destination of sendOptions.destinations) {
        try {
          addon.send6(current, payload, source, ipv6Bytes(destination));
        } catch (error) {
          const ioError = toIoError('transport6.send', error);
          if (ioError.code === 'ENODEV' || ioError.code === 'ENXIO') checkBinding();
          report(new IoError(ioError.code, 'transport6.send', `to ${formatIpv6(destination)}${isIpv6Multicast(destination) ? ' (group)' : ''} on ${ifname}: ${ioError.message}`, { cause: error }));
        }
      }
    },
    reopen() {
      if (closed) return;
      if (retryTimer !== undefined) clearTimeout(retryTimer);
      retryTimer = undefined;
      open();
    },
    close() {
      closed = true;
      watchdog.close();
      if (retryTimer !== undefined) clearTimeout(retryTimer);
      retryTimer = undefined;
      dropSocket();
    },
  };
}
