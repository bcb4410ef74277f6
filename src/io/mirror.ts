/**
 * The authenticated UDP mirror of VRRP adverts (`vrrpd: { udp_mirror: { port, key_file } }`,
 * docs/protocol.md#udp-mirror): for networks whose firewall drops IP protocol 112 but lets a UDP
 * port through. Every advert that goes to a unicast peer over protocol 112 also goes to that peer's
 * UDP port, sealed in a datagram:
 *
 * ```
 *  0  4  magic "VRM" and format version 1
 *  4  8  counter, big-endian uint64: epoch (high 32 bits) << 32 | sequence (low 32 bits)
 * 12  n  the VRRP message exactly as sent over protocol 112 (8..96 bytes)
 * 12+n 32 HMAC-SHA256(key, source IPv4 || destination IPv4 || bytes 0..12+n)
 * ```
 *
 * The tag covers the two addresses although they are not carried: a datagram that another peer
 * sent, or that was meant for another node, does not verify when it is replayed from or to
 * elsewhere. The counter resists replay: a receiver takes a datagram only when its counter is
 * strictly above the last one it accepted from that peer (the engine keeps that floor, and the
 * shell saves it in the state directory at every rise, so a restart of the receiver refuses old
 * datagrams too). The epoch is max(last epoch + 1, the wall clock in seconds), kept in the state
 * directory before the first datagram leaves (src/daemon/state.ts), so a restart never counts
 * again from a value an old datagram already carried.
 *
 * Decoding never throws: what arrives on the port is a value from the network.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { formatIpv4, parseIpv4, type Ipv4 } from '../core/ip.js';
import { IoError } from './errors.js';

export const MIRROR_MAGIC = [0x56, 0x52, 0x4d] as const; // "VRM"
export const MIRROR_FORMAT_VERSION = 1;
export const MIRROR_HEADER_LENGTH = 12;
export const MIRROR_TAG_LENGTH = 32;
/** A VRRP header and nothing else. */
export const MIRROR_MIN_ADVERT = 8;
/** A VRRPv2 advert with 20 addresses (8 + 80 + 8 bytes of auth data); v3 needs 8 fewer. */
export const MIRROR_MAX_ADVERT = 96;
export const MIRROR_MIN_DATAGRAM = MIRROR_HEADER_LENGTH + MIRROR_MIN_ADVERT + MIRROR_TAG_LENGTH;
export const MIRROR_MAX_DATAGRAM = MIRROR_HEADER_LENGTH + MIRROR_MAX_ADVERT + MIRROR_TAG_LENGTH;
/** The key file: at least 32 bytes (HMAC-SHA256's own strength); more than this is not a key. */
export const MIRROR_MIN_KEY = 32;
export const MIRROR_MAX_KEY = 4096;
/** A mirror socket that could not bind is tried again after this. */
export const MIRROR_BIND_RETRY_MS = 1_000;

/** Why a datagram was refused before the engine saw its advert (the engine adds not_peer and replay). */
export type MirrorDecodeReason = 'too_short' | 'too_long' | 'bad_magic' | 'bad_version' | 'bad_tag';

export type MirrorDecodeResult = { ok: true; counter: bigint; advert: Uint8Array } | { ok: false; reason: MirrorDecodeReason };

function addressBytes(address: Ipv4): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(address >>> 0);
  return out;
}

function tagOf(key: Uint8Array, source: Ipv4, destination: Ipv4, body: Uint8Array): Buffer {
  return createHmac('sha256', key).update(addressBytes(source)).update(addressBytes(destination)).update(body).digest();
}

/** Seal one advert for `destination`. Throws on an advert outside 8..96 bytes (we built it) or a bad counter. */
export function encodeMirrorDatagram(key: Uint8Array, counter: bigint, advert: Uint8Array, source: Ipv4, destination: Ipv4): Uint8Array {
  if (advert.length < MIRROR_MIN_ADVERT || advert.length > MIRROR_MAX_ADVERT) throw new RangeError(`advert of ${advert.length} bytes`);
  if (counter < 0n || counter > 0xffff_ffff_ffff_ffffn) throw new RangeError(`counter ${counter}`);
  const body = Buffer.alloc(MIRROR_HEADER_LENGTH + advert.length);
  body[0] = MIRROR_MAGIC[0];
  body[1] = MIRROR_MAGIC[1];
  body[2] = MIRROR_MAGIC[2];
  body[3] = MIRROR_FORMAT_VERSION;
  body.writeBigUInt64BE(counter, 4);
  body.set(advert, MIRROR_HEADER_LENGTH);
  return Buffer.concat([body, tagOf(key, source, destination, body)]);
}

/**
 * Open a datagram that arrived from `source` at our `destination`: bounds, magic, version, then the
 * tag (compared in constant time). Never throws.
 */
export function decodeMirrorDatagram(key: Uint8Array, datagram: Uint8Array, source: Ipv4, destination: Ipv4): MirrorDecodeResult {
  if (datagram.length < MIRROR_MIN_DATAGRAM) return { ok: false, reason: 'too_short' };
  if (datagram.length > MIRROR_MAX_DATAGRAM) return { ok: false, reason: 'too_long' };
  if (datagram[0] !== MIRROR_MAGIC[0] || datagram[1] !== MIRROR_MAGIC[1] || datagram[2] !== MIRROR_MAGIC[2]) return { ok: false, reason: 'bad_magic' };
  if (datagram[3] !== MIRROR_FORMAT_VERSION) return { ok: false, reason: 'bad_version' };
  const tagAt = datagram.length - MIRROR_TAG_LENGTH;
  const body = datagram.subarray(0, tagAt);
  const expected = tagOf(key, source, destination, body);
  if (!timingSafeEqual(expected, datagram.subarray(tagAt))) return { ok: false, reason: 'bad_tag' };
  const view = new DataView(datagram.buffer, datagram.byteOffset, datagram.byteLength);
  // A copy: the socket's buffer is not ours to keep.
  return { ok: true, counter: view.getBigUint64(4), advert: Uint8Array.from(datagram.subarray(MIRROR_HEADER_LENGTH, tagAt)) };
}

export type MirrorKeyResult = { ok: true; key: Uint8Array } | { ok: false; message: string };

/**
 * Read the key file as the daemon must trust it: a regular file, no permission for group or others
 * (whoever reads it can forge adverts; whoever writes it can change it), 32..4096 bytes. The whole
 * content is the key, bytes as they are (`head -c 32 /dev/urandom` or `openssl rand -hex 32` both do).
 * The same function judges `check-config` and `run`.
 */
export function readMirrorKey(path: string): MirrorKeyResult {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, message: `udp_mirror key_file ${path} does not exist: create it with 'head -c 32 /dev/urandom > ${path}; chmod 600 ${path}' and copy it to every node` };
    if (code === 'ELOOP') return { ok: false, message: `udp_mirror key_file ${path} is a symlink; refusing it (name the file itself)` };
    return { ok: false, message: `udp_mirror key_file ${path} cannot be read: ${(error as Error).message}` };
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return { ok: false, message: `udp_mirror key_file ${path} is not a regular file` };
    const mode = stat.mode & 0o777;
    if ((mode & 0o066) !== 0) {
      const who = [(mode & 0o044) !== 0 ? 'readable' : '', (mode & 0o022) !== 0 ? 'writable' : ''].filter(Boolean).join(' and ');
      return { ok: false, message: `udp_mirror key_file ${path} is ${who} by its group or others (mode ${mode.toString(8).padStart(4, '0')}); anyone who reads it can forge adverts: chmod 600 ${path}` };
    }
    if (stat.size < MIRROR_MIN_KEY) return { ok: false, message: `udp_mirror key_file ${path} holds ${stat.size} bytes; it needs at least ${MIRROR_MIN_KEY} random bytes ('head -c 32 /dev/urandom > ${path}')` };
    if (stat.size > MIRROR_MAX_KEY) return { ok: false, message: `udp_mirror key_file ${path} holds ${stat.size} bytes; a key is at most ${MIRROR_MAX_KEY}` };
    const key = Buffer.alloc(stat.size);
    let read = 0;
    while (read < key.length) {
      const n = readSync(fd, key, read, key.length - read, read);
      if (n === 0) break;
      read += n;
    }
    if (read < MIRROR_MIN_KEY) return { ok: false, message: `udp_mirror key_file ${path} holds ${read} bytes; it needs at least ${MIRROR_MIN_KEY}` };
    return { ok: true, key: new Uint8Array(key.subarray(0, read)) };
  } catch (error) {
    return { ok: false, message: `udp_mirror key_file ${path} cannot be read: ${(error as Error).message}` };
  } finally {
    closeSync(fd);
  }
}

/** Where the mirror listens: one socket per local address that some unicast instance sends from. */
export interface MirrorEndpoint {
  ifname: string;
  address: Ipv4;
}

/** A datagram as it came (not yet opened), with the sender's address; never called for non-IPv4. */
export type MirrorDatagramHandler = (endpoint: MirrorEndpoint, datagram: Uint8Array, source: Ipv4) => void;

/** A sender counter: epoch << 32 | sequence; `nextEpoch` is asked for a fresh epoch when the sequence wraps. */
export class MirrorCounter {
  private sequence = 0;
  constructor(
    private epoch: number,
    private readonly nextEpoch: () => number,
  ) {}

  next(): bigint {
    if (this.sequence > 0xffff_ffff) {
      this.epoch = this.nextEpoch();
      this.sequence = 0;
    }
    return (BigInt(this.epoch >>> 0) << 32n) | BigInt(this.sequence++);
  }
}

/**
 * The mirror's sockets: `listen` makes the set of bound sockets match the endpoints (each bound to
 * its address and the port, so the mirror never answers on an address VRRP does not use), `send`
 * seals one advert per destination and sends it from the socket bound to the advert's source.
 */
export class MirrorSockets {
  private readonly sockets = new Map<string, { endpoint: MirrorEndpoint; socket: Socket; port: number; bound: boolean }>();
  private wanted: { port: number; endpoints: MirrorEndpoint[] } = { port: 0, endpoints: [] };
  private retry: ReturnType<typeof setTimeout> | undefined;
  private key: Uint8Array;
  private onDatagram: MirrorDatagramHandler | undefined;

  constructor(
    key: Uint8Array,
    private readonly counter: MirrorCounter,
    private readonly onError: (error: IoError) => void,
  ) {
    this.key = key;
  }

  setKey(key: Uint8Array): void {
    this.key = key;
  }

  /** Open what is new, close what is gone (a changed port reopens everything); every datagram goes to onDatagram. */
  listen(port: number, endpoints: readonly MirrorEndpoint[], onDatagram: MirrorDatagramHandler): void {
    this.onDatagram = onDatagram;
    this.wanted = { port, endpoints: [...endpoints] };
    this.sync();
  }

  private sync(): void {
    const { port, endpoints } = this.wanted;
    const wanted = new Map(endpoints.map((e) => [formatIpv4(e.address), e]));
    for (const [name, entry] of [...this.sockets]) {
      if (wanted.get(name)?.ifname === entry.endpoint.ifname && entry.port === port) continue;
      entry.socket.close();
      this.sockets.delete(name);
    }
    for (const [name, endpoint] of wanted) {
      if (this.sockets.has(name)) continue;
      const socket = createSocket({ type: 'udp4', reuseAddr: false });
      const entry = { endpoint, socket, port, bound: false };
      socket.on('message', (message, rinfo) => {
        const source = parseIpv4(rinfo.address);
        if (source !== undefined) this.onDatagram?.(endpoint, message, source);
      });
      socket.on('listening', () => {
        entry.bound = true;
      });
      socket.on('error', (error) => {
        this.onError(new IoError((error as NodeJS.ErrnoException).code ?? 'EIO', entry.bound ? 'mirror.socket' : 'mirror.bind', `${name}:${port}: ${error.message}`));
        if (entry.bound || this.sockets.get(name) !== entry) return;
        // A bind that failed (the address not there yet, the port taken) is tried again every
        // RETRY_MS, as the VRRP transport retries its socket; sends meanwhile fail and are counted.
        socket.close();
        this.sockets.delete(name);
        this.retry ??= setTimeout(() => {
          this.retry = undefined;
          this.sync();
        }, MIRROR_BIND_RETRY_MS);
        this.retry.unref?.();
      });
      socket.bind({ address: name, port, exclusive: true });
      this.sockets.set(name, entry);
    }
  }

  /** Seal and send; throws an IoError when no socket is bound to `source` (never for a send error, which is async). */
  send(advert: Uint8Array, source: Ipv4, destinations: readonly Ipv4[]): void {
    const entry = this.sockets.get(formatIpv4(source));
    if (entry === undefined) throw new IoError('ENOTCONN', 'mirror.send', `no mirror socket on ${formatIpv4(source)}`);
    for (const destination of destinations) {
      const datagram = encodeMirrorDatagram(this.key, this.counter.next(), advert, source, destination);
      entry.socket.send(datagram, entry.port, formatIpv4(destination), (error) => {
        if (error) this.onError(new IoError((error as NodeJS.ErrnoException).code ?? 'EIO', 'mirror.send', `to ${formatIpv4(destination)}: ${error.message}`));
      });
    }
  }

  open(datagram: Uint8Array, source: Ipv4, destination: Ipv4): MirrorDecodeResult {
    return decodeMirrorDatagram(this.key, datagram, source, destination);
  }

  close(): void {
    if (this.retry !== undefined) clearTimeout(this.retry);
    this.retry = undefined;
    this.wanted = { port: 0, endpoints: [] };
    for (const entry of this.sockets.values()) entry.socket.close();
    this.sockets.clear();
  }
}
