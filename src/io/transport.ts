/**
 * VRRP over IPv4 protocol 112 on a raw socket (npm raw-socket), one socket per interface shared by
 * every instance on it. The core builds the VRRP payload; this file adds the IP header, sends it to
 * the group or to each unicast peer, and hands every received IP packet (header included) upward.
 *
 * Why IP_HDRINCL: raw-socket cannot bind() or pass IP_PKTINFO, so with kernel-built headers the
 * source of a unicast advert would be whatever the routing table prefers, not unicast_src_ip. With
 * our own header (as keepalived does) the source, TTL 255 and TOS 0xc0 are exactly what we wrote;
 * the kernel still fills the IP ID (we leave 0), the total length and the header checksum.
 * native-notes/multicast.md records what was verified in network namespaces.
 */
import { createRequire } from 'node:module';
import type { Ipv4 } from '../core/ip.js';
import { formatIpv4, isMulticast, VRRP_MULTICAST_GROUP } from '../core/ip.js';
import { VRRP_PROTOCOL, VRRP_TOS, VRRP_TTL } from '../core/types.js';
import { monotonicClock, receivedAtFromAge, runDueChores, startChore } from './clock.js';
import { IoError, toIoError } from './errors.js';
import { isValidIfname, localIpv4Addresses, readIfindex, readInterface } from './link.js';
import { loadPacketAddon } from './native.js';

/** Best effort: an addon built before closeOnExec existed simply leaves descriptors as they are. */
/** The descriptors of this process's protocol-112 raw sockets, or undefined without the addon. */
function vrrpSocketFds(): Set<number> | undefined {
  try {
    const fds = loadPacketAddon().rawSocketFds?.(VRRP_PROTOCOL);
    return fds === undefined ? undefined : new Set(fds);
  } catch {
    return undefined;
  }
}

/**
 * The socket's receive-stamp reader, looked up once per socket: for each packet, when the kernel
 * received the one the last read on fd returned (SIOCGSTAMPNS), monotonic ms. A no-op without the
 * fd or the addon.
 */
function receiveStampReader(fd: number | undefined): () => number | undefined {
  let ageOf: ((fd: number) => number | undefined) | undefined;
  try {
    ageOf = loadPacketAddon().receiveAgeMs;
  } catch {
    ageOf = undefined;
  }
  if (fd === undefined || ageOf === undefined) return () => undefined;
  return () => receivedAtFromAge(ageOf(fd));
}

function markCloseOnExec(): void {
  try {
    loadPacketAddon().closeOnExec?.();
  } catch {
    // no addon: GARP reports that on its own; the transport still works
  }
}

export interface SendOptions {
  /** The IP source: unicast_src_ip / mcast_src_ip / the interface's first address. */
  source: Ipv4;
  /** [VRRP_MULTICAST_GROUP] in multicast mode, else every unicast peer (one packet each). */
  destinations: readonly Ipv4[];
}

export interface TransportHandlers {
  /**
   * A whole IPv4 packet (header included) that arrived on ifname with protocol 112. Copied; keep it.
   * receivedAtMs: when the kernel received it, on the monotonic clock (its stamp, see
   * receiveTimeOf); undefined when the socket gave no stamp.
   */
  onPacket(bytes: Uint8Array, ifname: string, receivedAtMs?: number): void;
  /** Anything that went wrong, asynchronously or not; the transport never throws into the event loop. */
  onError(error: IoError): void;
  /**
   * A socket is open and bound (at once, or after retries). The daemon lifts the FAULT a missing
   * interface or a refused socket put its instances in.
   */
  onOpen?(ifname: string): void;
}

export interface TransportOptions {
  /** Join 224.0.0.18 on this interface so the kernel delivers group adverts. Default true. */
  multicast?: boolean;
  /** Retry opening (interface missing, socket error) after this long. Default 1000 ms. */
  reopenDelayMs?: number;
  /** SO_RCVBUF; adverts are small but a burst from many VRIDs should not be dropped. Default 256 KiB. */
  receiveBufferBytes?: number;
}

/** What the daemon's host (src/daemon/real-host.ts) needs from a transport. */
export interface VrrpTransport {
  readonly ifname: string;
  /** True while a socket is open (false while waiting to retry). */
  readonly isOpen: boolean;
  /** Send one advert payload (VRRP header + addresses + auth, checksum filled) to every destination. */
  send(payload: Uint8Array, options: SendOptions): void;
  /** Close now and open again (after an interface was re-created, say). */
  reopen(): void;
  close(): void;
}

export const IPV4_HEADER_LENGTH = 20;

/**
 * The 20-byte IPv4 header we hand the kernel with IP_HDRINCL: TOS 0xc0, no DF, TTL 255, protocol
 * 112. ID and checksum are left 0 for the kernel to fill (raw(7)); the total length is written
 * anyway so the bytes are a complete header on their own.
 */
export function buildIpHeader(source: Ipv4, destination: Ipv4, payloadLength: number): Uint8Array {
  const header = new Uint8Array(IPV4_HEADER_LENGTH);
  const view = new DataView(header.buffer);
  header[0] = 0x45;
  header[1] = VRRP_TOS;
  view.setUint16(2, IPV4_HEADER_LENGTH + payloadLength);
  view.setUint16(4, 0);
  view.setUint16(6, 0);
  header[8] = VRRP_TTL;
  header[9] = VRRP_PROTOCOL;
  view.setUint16(10, 0);
  view.setUint32(12, source >>> 0);
  view.setUint32(16, destination >>> 0);
  return header;
}

// Linux socket constants raw-socket does not export (<linux/in.h>, <asm-generic/socket.h>).
const SOL_SOCKET = 1;
const SO_RCVBUF = 8;
const SO_SNDBUF = 7;
const SO_SNDBUFFORCE = 32;
/**
 * Room for every VRID's advert sent in the same millisecond: 255 adverts of ~900 bytes of kernel
 * truesize each overflow the default 208 KiB, and the rest would then leave through raw-socket's
 * queue, one per event loop turn (docs/benchmarks.md, the scale section). FORCE (CAP_NET_ADMIN, which
 * the daemon holds for the VIPs) passes net.core.wmem_max; plain SO_SNDBUF is capped by it.
 */
const SEND_BUFFER_BYTES = 1024 * 1024;
const SO_BINDTODEVICE = 25;
const IPPROTO_IP = 0;
const IP_HDRINCL = 3;
const IP_MULTICAST_IF = 32;
const IP_MULTICAST_LOOP = 34;
const IP_ADD_MEMBERSHIP = 35;
const IP_MULTICAST_ALL = 49;

interface RawSocket {
  on(event: 'message', listener: (buffer: Buffer, source: string) => void): void;
  on(event: 'error', listener: (error: unknown) => void): void;
  on(event: 'close', listener: () => void): void;
  send(
    buffer: Buffer,
    offset: number,
    length: number,
    address: string,
    afterCallback: (error: Error | null, bytes: number) => void,
  ): void;
  setOption(level: number, option: number, value: number): void;
  setOption(level: number, option: number, value: Buffer, length: number): void;
  close(): void;
  /** raw-socket internals (1.8.x): its queue of pending sends and the native wrap's sendto. */
  requests?: unknown[];
  wrap?: { send?: (buffer: Buffer, offset: number, length: number, address: string, done: (bytes: number) => void) => void };
}

/** sendto() failures that mean "not now" (socket buffer full): queue behind raw-socket's poll. */
const RETRY_LATER = /temporarily unavailable|no buffer space|would block/i;

/**
 * Send at once. raw-socket's send() only queues: the packet leaves on a later turn of the event
 * loop, one queued packet per writable poll, so an advert sent on becoming MASTER waited behind
 * everything else that turn did (the synchronous fork of `ip addr add` took 3-10 ms on a loaded
 * 2-core machine, and the second unicast peer one more loop turn), while keepalived's sendto() is
 * immediate. The native wrap's send() is a plain non-blocking sendto(): call it directly while
 * nothing is queued (so order is kept), and fall back to the queue when the buffer is full or the
 * internals are not there.
 */
function sendNow(socket: RawSocket, packet: Buffer, address: string, done: (error: Error | null) => void): void {
  const wrapSend = socket.wrap?.send;
  if (typeof wrapSend === 'function' && Array.isArray(socket.requests) && socket.requests.length === 0) {
    try {
      wrapSend.call(socket.wrap, packet, 0, packet.length, address, () => undefined);
      done(null);
      return;
    } catch (error) {
      if (!(error instanceof Error) || !RETRY_LATER.test(error.message)) {
        // Reported on a later tick, as raw-socket's queued path does: a caller in the middle of
        // sending to several peers is not re-entered by the error handling (rebind, logging).
        const failure = error instanceof Error ? error : new Error(String(error));
        queueMicrotask(() => done(failure));
        return;
      }
    }
  }
  socket.send(packet, 0, packet.length, address, (error) => done(error));
}

interface RawSocketModule {
  createSocket(options: { protocol: number; addressFamily?: number; bufferSize?: number }): RawSocket;
}

let rawModule: RawSocketModule | undefined;
function loadRaw(): RawSocketModule {
  rawModule ??= createRequire(import.meta.url)('raw-socket') as RawSocketModule;
  return rawModule;
}

/** struct ip_mreqn { in_addr multiaddr; in_addr address; int ifindex; }, ifindex in host order. */
function ipMreqn(group: Ipv4, ifindex: number): Buffer {
  const buffer = Buffer.alloc(12);
  buffer.writeUInt32BE(group >>> 0, 0);
  buffer.writeUInt32BE(0, 4);
  buffer.writeInt32LE(ifindex, 8); // native int; every Linux target we run on is little-endian
  return buffer;
}

/** How long a snapshot of our own addresses is trusted by the receive filter. */
const OWN_ADDRESSES_TTL_MS = 1000;

/**
 * Open the VRRP socket for one interface. Never throws: a missing interface, a missing capability or
 * a socket error is reported through onError and retried every reopenDelayMs until close().
 */
export function openTransport(ifname: string, handlers: TransportHandlers, options: TransportOptions = {}): VrrpTransport {
  const reopenDelayMs = options.reopenDelayMs ?? 1000;
  const multicast = options.multicast ?? true;
  let socket: RawSocket | undefined;
  /** The ifindex the open socket is bound to; a re-created interface gets a new one. */
  let boundIfindex: number | undefined;
  let closed = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let ownAddresses = new Set<Ipv4>();
  let ownAddressesAt = -Infinity;

  const report = (error: IoError): void => {
    try {
      handlers.onError(error);
    } catch {
      // A throwing error handler must not turn a send failure into a crash.
    }
  };

  const isOwnAddress = (address: Ipv4): boolean => {
    const now = monotonicClock.nowMs();
    if (now - ownAddressesAt > OWN_ADDRESSES_TTL_MS) {
      ownAddresses = localIpv4Addresses();
      ownAddressesAt = now;
    }
    return ownAddresses.has(address);
  };

  const scheduleRetry = (): void => {
    if (closed || retryTimer !== undefined) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      open();
    }, reopenDelayMs);
  };

  const dropSocket = (): void => {
    const current = socket;
    socket = undefined;
    boundIfindex = undefined;
    if (current === undefined) return;
    try {
      current.close();
    } catch {
      // already closed by raw-socket after a poll error
    }
  };

  const configure = (s: RawSocket, ifindex: number): void => {
    const name = Buffer.from(`${ifname}\0`, 'utf8');
    // One socket per interface: only this interface's packets in, and out of it whatever the routes say.
    s.setOption(SOL_SOCKET, SO_BINDTODEVICE, name, name.length);
    s.setOption(SOL_SOCKET, SO_RCVBUF, options.receiveBufferBytes ?? 256 * 1024);
    try {
      s.setOption(SOL_SOCKET, SO_SNDBUFFORCE, SEND_BUFFER_BYTES);
    } catch {
      s.setOption(SOL_SOCKET, SO_SNDBUF, SEND_BUFFER_BYTES);
    }
    s.setOption(IPPROTO_IP, IP_HDRINCL, 1);
    // Group adverts leave through this interface; we never want to hear our own.
    s.setOption(IPPROTO_IP, IP_MULTICAST_IF, ipMreqn(0, ifindex), 12);
    s.setOption(IPPROTO_IP, IP_MULTICAST_LOOP, 0);
    // Only groups this socket joined, not every group some other socket on the host joined.
    s.setOption(IPPROTO_IP, IP_MULTICAST_ALL, 0);
    if (multicast) {
      // A raw socket can join a group itself with the same setsockopt a UDP socket uses; the
      // membership is what makes the kernel accept 224.0.0.18 on this interface at all.
      s.setOption(IPPROTO_IP, IP_ADD_MEMBERSHIP, ipMreqn(VRRP_MULTICAST_GROUP, ifindex), 12);
    }
  };

  const open = (): void => {
    if (closed) return;
    dropSocket();
    if (!isValidIfname(ifname)) {
      report(new IoError('EINVAL', 'transport.open', `bad interface name ${JSON.stringify(ifname)}`));
      return;
    }
    const facts = readInterface(ifname);
    if (facts === undefined) {
      report(new IoError('ENODEV', 'transport.open', `no interface ${ifname}`));
      scheduleRetry();
      return;
    }
    let s: RawSocket;
    let receivedAt: () => number | undefined;
    try {
      const before = vrrpSocketFds();
      s = loadRaw().createSocket({ protocol: VRRP_PROTOCOL, bufferSize: 65536 });
      const opened = before === undefined ? [] : [...(vrrpSocketFds() ?? [])].filter((f) => !before.has(f));
      // Exactly one new socket is ours; anything else and the packets go without a stamp.
      receivedAt = receiveStampReader(opened.length === 1 ? opened[0] : undefined);
      // The first SIOCGSTAMPNS turns stamping on for the socket (and has nothing to report).
      receivedAt();
      // raw-socket opens its socket without CLOEXEC: keep it out of `ip` and script children.
      markCloseOnExec();
    } catch (error) {
      report(toIoError('transport.open', error));
      scheduleRetry();
      return;
    }
    try {
      configure(s, facts.ifindex);
    } catch (error) {
      try {
        s.close();
      } catch {
        // nothing to release
      }
      report(toIoError('transport.open', error));
      scheduleRetry();
      return;
    }
    socket = s;
    boundIfindex = facts.ifindex;
    s.on('message', (buffer) => {
      if (socket !== s) return;
      // raw-socket reuses one receive buffer: copy before anything is queued or kept.
      const bytes = new Uint8Array(buffer);
      if (bytes.length >= IPV4_HEADER_LENGTH) {
        const source = new DataView(bytes.buffer, bytes.byteOffset).getUint32(12);
        if (isOwnAddress(source)) return;
      }
      try {
        handlers.onPacket(bytes, ifname, receivedAt());
      } catch (error) {
        report(toIoError('transport.receive', error));
      }
      runDueChores();
    });
    s.on('error', (error) => {
      if (socket !== s) return;
      // raw-socket closes the socket after a poll error; open a fresh one.
      report(toIoError('transport.socket', error ?? new Error('raw socket poll error')));
      dropSocket();
      scheduleRetry();
    });
    try {
      handlers.onOpen?.(ifname);
    } catch (error) {
      report(toIoError('transport.open', error));
    }
  };

  open();

  // SO_BINDTODEVICE and the membership hold an ifindex: if the interface is deleted and created
  // again (a VLAN or bond rebuilt by the network manager) the socket silently hears nothing. A
  // backup never sends, so no send error would tell us; look at the ifindex once per retry period.
  const checkBinding = (): void => {
    if (closed || socket === undefined) return;
    const ifindex = readIfindex(ifname);
    if (ifindex === boundIfindex) return;
    report(
      new IoError(
        ifindex === undefined ? 'ENODEV' : 'EIFCHANGED',
        'transport.watch',
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
  // On the daemon's own wake-ups from 3/4 of the period on (a MASTER at advert_int 1: each advert's).
  const watchdog = startChore(checkBinding, reopenDelayMs, { unref: true });

  return {
    ifname,
    get isOpen() {
      return socket !== undefined;
    },
    send(payload, sendOptions) {
      const s = socket;
      if (closed) {
        report(new IoError('ECLOSED', 'transport.send', `transport on ${ifname} is closed`));
        return;
      }
      if (s === undefined) {
        report(new IoError('ENOTOPEN', 'transport.send', `no socket on ${ifname} yet (retrying)`));
        return;
      }
      for (const destination of sendOptions.destinations) {
        const packet = Buffer.alloc(IPV4_HEADER_LENGTH + payload.length);
        packet.set(buildIpHeader(sendOptions.source, destination, payload.length), 0);
        packet.set(payload, IPV4_HEADER_LENGTH);
        const address = formatIpv4(destination);
        try {
          sendNow(s, packet, address, (error) => {
            if (error) {
              const ioError = toIoError('transport.send', error);
              // The device behind our binding is gone: rebind now rather than at the next watchdog tick.
              if (ioError.code === 'ENODEV' || ioError.code === 'ENXIO') checkBinding();
              report(new IoError(ioError.code, 'transport.send', `to ${address}${isMulticast(destination) ? ' (group)' : ''} on ${ifname}: ${error.message}`, { cause: error }));
            }
          });
        } catch (error) {
          report(toIoError('transport.send', error));
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
