/**
 * VRRP advert codec: VRRPv2 (RFC 3768 section 5) and VRRPv3 over IPv4 and IPv6 (RFC 5798 section
 * 5), and the bit of IPv4/IPv6 the receive path needs. The version nibble decides the layout, as in
 * keepalived: version 3 has no auth fields and a 12-bit interval in centiseconds, and its checksum
 * covers an IP pseudo-header (docs/protocol.md#vrrpv3-wire-format); every other version is laid
 * out as v2. Over IPv6 the addresses are 16 bytes each (docs/protocol.md#vrrpv3-over-ipv6).
 *
 * Rules of this file:
 * - Decoding never throws: malformed input is a value (`{ ok: false, reason }`), because every byte
 *   that reaches us came from the network and a crash would be a remote kill switch.
 * - Decoding reports fields as carried; judging them (version, type, lengths, checksum, auth) is the
 *   job of checks.ts, which follows keepalived's order so both count the same drop for the same packet.
 * - Encoding is for packets we build ourselves; nonsense arguments are a programming error and throw.
 * - Pure: Uint8Array and plain arithmetic only, no Node.
 */
import type { Advert, AdvertV3, DropReason, IpHeader } from './types.js';
import { AUTH_DATA_LENGTH, MAX_V3_ADVERT_INTERVAL_CS, VRRP_HEADER_LENGTH, VRRP_PROTOCOL, VRRP_TOS, VRRP_TTL } from './types.js';
import type { AddressFamily, IpAddress, Ipv4, Ipv6 } from './ip.js';
import { ipv6Bytes, readIpv6 } from './ip.js';

/** What encodeAdvert takes for VRRPv2: an advert whose checksum is computed unless given (tests build bad ones). */
export type AdvertInput = Omit<Advert, 'checksum'> & { checksum?: number };

/** What encodeAdvert takes for VRRPv3: the checksum is computed over the pseudo-header unless given; reserved defaults to 0. */
export type AdvertV3Input = Omit<AdvertV3, 'checksum' | 'reserved'> & { checksum?: number; reserved?: number };

/**
 * The pseudo-header's addresses a VRRPv3 checksum covers (RFC 5798 5.2.8; protocol and length are
 * implied): IPv4 numbers, or IPv6 bigints (RFC 8200 8.1).
 */
export interface PseudoHeader {
  source: IpAddress;
  destination: IpAddress;
}

export type DecodeAdvertResult = { ok: true; advert: Advert | AdvertV3 } | { ok: false; reason: Extract<DropReason, 'too_short' | 'bad_length'> };

/** True for a decoded VRRPv3 advert (no auth fields, interval in centiseconds). */
export function isAdvertV3(advert: Advert | AdvertV3): advert is AdvertV3 {
  return advert.version === 3 && 'advertIntervalCs' in advert;
}

export type ParseIpHeaderResult = { ok: true; ip: IpHeader } | { ok: false; reason: 'too_short' };

export type PeekResult = { ok: true; virtualRouterId: number; ip: IpHeader } | { ok: false; reason: 'too_short' };

/** Smallest IPv4 header (no options). */
export const IPV4_MIN_HEADER_LENGTH = 20;
/** The fixed IPv6 header; the transport hands the core one with no extension headers. */
export const IPV6_HEADER_LENGTH = 40;

/** Bytes in a VRRPv2 advert carrying `addressCount` addresses: header + addresses + auth data. */
export function advertLength(addressCount: number): number {
  return VRRP_HEADER_LENGTH + 4 * addressCount + AUTH_DATA_LENGTH;
}

/** Bytes in a VRRPv3 advert carrying `addressCount` addresses: header + 4 (IPv4) or 16 (IPv6) bytes each. */
export function advertLengthV3(addressCount: number, family: AddressFamily = 4): number {
  return VRRP_HEADER_LENGTH + (family === 6 ? 16 : 4) * addressCount;
}

/**
 * Bytes a VRRP message of this version nibble carries (keepalived's expected_vrrp_pkt_len): the
 * packet's own nibble decides, so a v2 advert at a v3 instance passes the length check and is
 * then dropped as bad_version, and the other way round.
 */
export function messageLength(version: number, addressCount: number, family: AddressFamily = 4): number {
  // Over IPv6 only VRRPv3 exists; keepalived sizes any nibble there as v3 with 16-byte addresses.
  if (family === 6) return advertLengthV3(addressCount, 6);
  return version === 3 ? advertLengthV3(addressCount) : advertLength(addressCount);
}

/** The ones' complement sum of bytes[offset, offset + length) as 16-bit words, not yet folded. */
function wordSum(bytes: Uint8Array, offset: number, length: number): number {
  let sum = 0;
  const end = offset + length;
  let i = offset;
  for (; i + 1 < end; i += 2) sum += ((bytes[i] as number) << 8) | (bytes[i + 1] as number);
  // An odd trailing byte is padded with a zero byte on the right (RFC 1071).
  if (i < end) sum += (bytes[i] as number) << 8;
  return sum;
}

function fold(sum: number): number {
  // A 64 KiB message sums to well under 2^53, so folding at the end is exact.
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/**
 * Internet checksum (RFC 1071) of bytes[offset, offset + length). Call it with the checksum field
 * zeroed to get the value to write, or over a whole received message to verify it (0 = good).
 * VRRPv2 covers the VRRP message only, no pseudo-header (RFC 3768 5.3.8).
 */
export function vrrpChecksum(bytes: Uint8Array, offset = 0, length = bytes.length - offset): number {
  return fold(wordSum(bytes, offset, length));
}

/**
 * The VRRPv3 checksum of the message in bytes[offset, offset + length): RFC 5798 5.2.8, over the
 * IPv4 pseudo-header (source, destination, zero, protocol 112, VRRP length) and the message, as
 * keepalived 2.2.7 computes it by default and Wireshark verifies it. Zero the checksum field to get
 * the value to write; over a received message, 0 means it verifies.
 */
export function v3Checksum(bytes: Uint8Array, pseudo: PseudoHeader, offset = 0, length = bytes.length - offset): number {
  const { source, destination } = pseudo;
  if (typeof source === 'bigint' || typeof destination === 'bigint') {
    // RFC 8200 8.1: source, destination, 32-bit upper-layer length, 24 zero bits, next header.
    const pseudoSum = wordSum(ipv6Bytes(BigInt(source)), 0, 16) + wordSum(ipv6Bytes(BigInt(destination)), 0, 16) + (length >>> 16) + (length & 0xffff) + VRRP_PROTOCOL;
    return fold(pseudoSum + wordSum(bytes, offset, length));
  }
  const pseudoSum = (source >>> 16) + (source & 0xffff) + (destination >>> 16) + (destination & 0xffff) + VRRP_PROTOCOL + length;
  return fold(pseudoSum + wordSum(bytes, offset, length));
}

/**
 * A copy of a VRRPv3 payload with the checksum for this (source, destination) pair. Because the
 * destination is in the pseudo-header, every unicast copy of one advert has its own checksum
 * (keepalived patches it per peer too); the engine calls this once per destination.
 */
export function withV3Checksum(payload: Uint8Array, pseudo: PseudoHeader): Uint8Array {
  const out = payload.slice();
  out[6] = 0;
  out[7] = 0;
  const checksum = v3Checksum(out, pseudo);
  out[6] = checksum >>> 8;
  out[7] = checksum & 0xff;
  return out;
}

function readIpv4(bytes: Uint8Array, at: number): Ipv4 {
  return (
    (((bytes[at] as number) << 24) | ((bytes[at + 1] as number) << 16) | ((bytes[at + 2] as number) << 8) | (bytes[at + 3] as number)) >>>
    0
  );
}

function writeIpv4(bytes: Uint8Array, at: number, address: Ipv4): void {
  bytes[at] = (address >>> 24) & 0xff;
  bytes[at + 1] = (address >>> 16) & 0xff;
  bytes[at + 2] = (address >>> 8) & 0xff;
  bytes[at + 3] = address & 0xff;
}

function assertUint(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${name} must be an integer 0..${max}, got ${String(value)}`);
  }
}

/**
 * Build the VRRP part of an advert. VRRPv2 (an AdvertInput): 8-byte header, addresses, 8 bytes of
 * auth data, checksum over the message. VRRPv3 (an AdvertV3Input): 8-byte header and addresses,
 * checksum over `pseudo` and the message (required unless `checksum` is given). Call it when
 * sending; a given `checksum` is written as is. Throws RangeError on fields that do not fit their
 * wire width.
 */
export function encodeAdvert(a: AdvertInput | AdvertV3Input, pseudo?: PseudoHeader): Uint8Array {
  if ('advertIntervalCs' in a) return encodeAdvertV3(a, pseudo);
  assertUint('version', a.version, 15);
  if (a.version === 3) throw new RangeError('version 3 is laid out without auth fields: give advertIntervalCs, not advertIntervalSec');
  assertUint('type', a.type, 15);
  assertUint('virtualRouterId', a.virtualRouterId, 255);
  assertUint('priority', a.priority, 255);
  assertUint('authType', a.authType, 255);
  assertUint('advertIntervalSec', a.advertIntervalSec, 255);
  assertUint('address count', a.addresses.length, 255);
  if (a.authData.length !== AUTH_DATA_LENGTH) {
    throw new RangeError(`authData must be ${AUTH_DATA_LENGTH} bytes, got ${a.authData.length}`);
  }
  if (a.checksum !== undefined) assertUint('checksum', a.checksum, 0xffff);

  const count = a.addresses.length;
  const out = new Uint8Array(advertLength(count));
  out[0] = (a.version << 4) | a.type;
  out[1] = a.virtualRouterId;
  out[2] = a.priority;
  out[3] = count;
  out[4] = a.authType;
  out[5] = a.advertIntervalSec;
  // bytes 6..7 (checksum) stay zero until the sum is taken
  let at = VRRP_HEADER_LENGTH;
  for (const address of a.addresses) {
    assertUint('address', address, 0xffffffff);
    writeIpv4(out, at, address);
    at += 4;
  }
  out.set(a.authData, at);
  const checksum = a.checksum ?? vrrpChecksum(out);
  out[6] = checksum >>> 8;
  out[7] = checksum & 0xff;
  return out;
}

function encodeAdvertV3(a: AdvertV3Input, pseudo: PseudoHeader | undefined): Uint8Array {
  if (a.version !== 3) throw new RangeError(`a VRRPv3 advert has version 3, got ${String(a.version)}`);
  assertUint('type', a.type, 15);
  assertUint('virtualRouterId', a.virtualRouterId, 255);
  assertUint('priority', a.priority, 255);
  assertUint('reserved', a.reserved ?? 0, 15);
  assertUint('advertIntervalCs', a.advertIntervalCs, MAX_V3_ADVERT_INTERVAL_CS);
  assertUint('address count', a.addresses.length, 255);
  if (a.checksum !== undefined) assertUint('checksum', a.checksum, 0xffff);
  else if (pseudo === undefined) throw new RangeError('a VRRPv3 checksum covers the IPv4 pseudo-header: give its source and destination');

  const family: AddressFamily = a.addresses.length > 0 && typeof a.addresses[0] === 'bigint' ? 6 : 4;
  const out = new Uint8Array(advertLengthV3(a.addresses.length, family));
  out[0] = (3 << 4) | a.type;
  out[1] = a.virtualRouterId;
  out[2] = a.priority;
  out[3] = a.addresses.length;
  out[4] = ((a.reserved ?? 0) << 4) | (a.advertIntervalCs >>> 8);
  out[5] = a.advertIntervalCs & 0xff;
  let at = VRRP_HEADER_LENGTH;
  for (const address of a.addresses) {
    if (family === 6) {
      // One instance is one family: a number among IPv6 addresses is a programming error.
      if (typeof address !== 'bigint') throw new RangeError('an IPv6 advert carries IPv6 addresses only');
      out.set(ipv6Bytes(address), at);
      at += 16;
      continue;
    }
    if (typeof address !== 'number') throw new RangeError('an IPv4 advert carries IPv4 addresses only');
    assertUint('address', address, 0xffffffff);
    writeIpv4(out, at, address);
    at += 4;
  }
  const checksum = a.checksum ?? v3Checksum(out, pseudo as PseudoHeader);
  out[6] = checksum >>> 8;
  out[7] = checksum & 0xff;
  return out;
}

/**
 * Read a VRRP message (no IP header) from bytes[offset, offset + length). Call it on the VRRP part
 * of a received packet; it reports the fields as carried and judges nothing except whether the
 * bytes hold the header and the addresses (and, unless the version nibble is 3, the auth data) it
 * announces. Version 3 gives an AdvertV3, every other version an Advert. Extra bytes after those
 * are ignored here (checks.ts rejects them). Never throws.
 */
export function decodeAdvert(bytes: Uint8Array, offset = 0, length?: number, family: AddressFamily = 4): DecodeAdvertResult {
  const available = bytes.length - offset;
  const size = length ?? available;
  if (!Number.isInteger(offset) || !Number.isInteger(size) || offset < 0 || size < 0 || size > available) {
    return { ok: false, reason: 'too_short' };
  }
  if (size < VRRP_HEADER_LENGTH) return { ok: false, reason: 'too_short' };
  const first = bytes[offset] as number;
  const version = first >>> 4;
  const count = bytes[offset + 3] as number;
  if (size < messageLength(version, count, family)) return { ok: false, reason: 'bad_length' };
  if (family === 6) {
    const addresses6: IpAddress[] = new Array<IpAddress>(count);
    for (let i = 0, at6 = offset + VRRP_HEADER_LENGTH; i < count; i++, at6 += 16) addresses6[i] = readIpv6(bytes, at6);
    return {
      ok: true,
      advert: {
        version: 3,
        type: first & 0x0f,
        virtualRouterId: bytes[offset + 1] as number,
        priority: bytes[offset + 2] as number,
        reserved: (bytes[offset + 4] as number) >>> 4,
        advertIntervalCs: (((bytes[offset + 4] as number) & 0x0f) << 8) | (bytes[offset + 5] as number),
        checksum: ((bytes[offset + 6] as number) << 8) | (bytes[offset + 7] as number),
        addresses: addresses6,
      },
    };
  }
  const addresses: Ipv4[] = new Array<Ipv4>(count);
  let at = offset + VRRP_HEADER_LENGTH;
  for (let i = 0; i < count; i++, at += 4) addresses[i] = readIpv4(bytes, at);
  if (version === 3) {
    return {
      ok: true,
      advert: {
        version: 3,
        type: first & 0x0f,
        virtualRouterId: bytes[offset + 1] as number,
        priority: bytes[offset + 2] as number,
        reserved: (bytes[offset + 4] as number) >>> 4,
        advertIntervalCs: (((bytes[offset + 4] as number) & 0x0f) << 8) | (bytes[offset + 5] as number),
        checksum: ((bytes[offset + 6] as number) << 8) | (bytes[offset + 7] as number),
        addresses,
      },
    };
  }
  return {
    ok: true,
    advert: {
      version,
      type: first & 0x0f,
      virtualRouterId: bytes[offset + 1] as number,
      priority: bytes[offset + 2] as number,
      authType: bytes[offset + 4] as number,
      advertIntervalSec: bytes[offset + 5] as number,
      checksum: ((bytes[offset + 6] as number) << 8) | (bytes[offset + 7] as number),
      addresses,
      // A copy: the receive buffer is reused by the transport.
      authData: bytes.slice(at, at + AUTH_DATA_LENGTH),
    },
  };
}

/**
 * Read the IP header of a received packet: IPv4 as a raw socket hands it over, or the 40-byte IPv6
 * header the IPv6 transport rebuilds from recvmsg (no extension headers; next header 112). Call it
 * first on every packet; anything that is not IPv4 or IPv6 / protocol 112 with room for the header
 * and the 8-byte VRRP header is 'too_short' (keepalived's first check). Never throws.
 */
export function parseIpHeader(bytes: Uint8Array): ParseIpHeaderResult {
  if (bytes.length >= 1 && (bytes[0] as number) >>> 4 === 6) return parseIpv6Header(bytes);
  if (bytes.length < IPV4_MIN_HEADER_LENGTH) return { ok: false, reason: 'too_short' };
  const versionIhl = bytes[0] as number;
  const headerLength = (versionIhl & 0x0f) * 4;
  if (versionIhl >>> 4 !== 4 || headerLength < IPV4_MIN_HEADER_LENGTH) return { ok: false, reason: 'too_short' };
  if ((bytes[9] as number) !== VRRP_PROTOCOL) return { ok: false, reason: 'too_short' };
  if (bytes.length < headerLength + VRRP_HEADER_LENGTH) return { ok: false, reason: 'too_short' };
  return {
    ok: true,
    ip: {
      family: 4,
      headerLength,
      tos: bytes[1] as number,
      totalLength: ((bytes[2] as number) << 8) | (bytes[3] as number),
      id: ((bytes[4] as number) << 8) | (bytes[5] as number),
      ttl: bytes[8] as number,
      protocol: bytes[9] as number,
      source: readIpv4(bytes, 12),
      destination: readIpv4(bytes, 16),
    },
  };
}

function parseIpv6Header(bytes: Uint8Array): ParseIpHeaderResult {
  if (bytes.length < IPV6_HEADER_LENGTH + VRRP_HEADER_LENGTH) return { ok: false, reason: 'too_short' };
  if ((bytes[6] as number) !== VRRP_PROTOCOL) return { ok: false, reason: 'too_short' };
  const payloadLength = ((bytes[4] as number) << 8) | (bytes[5] as number);
  return {
    ok: true,
    ip: {
      family: 6,
      headerLength: IPV6_HEADER_LENGTH,
      tos: (((bytes[0] as number) & 0x0f) << 4) | ((bytes[1] as number) >>> 4),
      totalLength: IPV6_HEADER_LENGTH + payloadLength,
      id: 0,
      ttl: bytes[7] as number,
      protocol: VRRP_PROTOCOL,
      source: readIpv6(bytes, 8),
      destination: readIpv6(bytes, 24),
    },
  };
}

/** IPv6 header fields encodeIpv6Packet fills; version 6, next header 112, flow label 0. */
export interface Ipv6PacketHeader {
  source: Ipv6;
  destination: Ipv6;
  /** Defaults to 255 (RFC 5798 5.1.2.3). */
  hopLimit?: number;
  /** Defaults to 0xc0, what keepalived sends. */
  trafficClass?: number;
}

/**
 * Wrap a VRRP payload in a 40-byte IPv6 header: what the IPv6 transport hands the core for a
 * received advert, and what the simulator and tests build. Throws RangeError on out-of-range fields.
 */
export function encodeIpv6Packet(header: Ipv6PacketHeader, payload: Uint8Array): Uint8Array {
  const hopLimit = header.hopLimit ?? VRRP_TTL;
  const trafficClass = header.trafficClass ?? VRRP_TOS;
  assertUint('hop limit', hopLimit, 255);
  assertUint('traffic class', trafficClass, 255);
  assertUint('payload length', payload.length, 0xffff);
  const out = new Uint8Array(IPV6_HEADER_LENGTH + payload.length);
  out[0] = 0x60 | (trafficClass >>> 4);
  out[1] = (trafficClass & 0x0f) << 4;
  out[4] = payload.length >>> 8;
  out[5] = payload.length & 0xff;
  out[6] = VRRP_PROTOCOL;
  out[7] = hopLimit;
  out.set(ipv6Bytes(header.source), 8);
  out.set(ipv6Bytes(header.destination), 24);
  out.set(payload, IPV6_HEADER_LENGTH);
  return out;
}

/**
 * The VRID of a received packet, for the per-interface dispatcher to pick the instance before any
 * other check (keepalived drops unknown VRIDs silently). Never throws.
 */
export function peekVirtualRouterId(bytes: Uint8Array): PeekResult {
  const parsed = parseIpHeader(bytes);
  if (!parsed.ok) return parsed;
  return { ok: true, virtualRouterId: bytes[parsed.ip.headerLength + 1] as number, ip: parsed.ip };
}

/** IPv4 header fields encodeIpv4Packet fills; the rest are fixed (IHL 5, no flags, protocol 112). */
export interface Ipv4PacketHeader {
  source: Ipv4;
  destination: Ipv4;
  /** Defaults to 255 (RFC 3768 5.2.3). */
  ttl?: number;
  /** Defaults to 0xc0, what keepalived sends. */
  tos?: number;
  /** Defaults to 0 (the kernel fills it on a real socket). */
  id?: number;
}

/**
 * Wrap a VRRP payload in a 20-byte IPv4 header with a correct header checksum. Call it where a whole
 * packet is needed without a kernel: the simulator and tests. Throws RangeError on out-of-range fields.
 */
export function encodeIpv4Packet(header: Ipv4PacketHeader, payload: Uint8Array): Uint8Array {
  const ttl = header.ttl ?? VRRP_TTL;
  const tos = header.tos ?? VRRP_TOS;
  const id = header.id ?? 0;
  const totalLength = IPV4_MIN_HEADER_LENGTH + payload.length;
  assertUint('ttl', ttl, 255);
  assertUint('tos', tos, 255);
  assertUint('id', id, 0xffff);
  assertUint('source', header.source, 0xffffffff);
  assertUint('destination', header.destination, 0xffffffff);
  assertUint('total length', totalLength, 0xffff);
  const out = new Uint8Array(totalLength);
  out[0] = 0x45;
  out[1] = tos;
  out[2] = totalLength >>> 8;
  out[3] = totalLength & 0xff;
  out[4] = id >>> 8;
  out[5] = id & 0xff;
  // bytes 6..7: flags and fragment offset 0 (keepalived does not set DF)
  out[8] = ttl;
  out[9] = VRRP_PROTOCOL;
  writeIpv4(out, 12, header.source);
  writeIpv4(out, 16, header.destination);
  const checksum = vrrpChecksum(out, 0, IPV4_MIN_HEADER_LENGTH);
  out[10] = checksum >>> 8;
  out[11] = checksum & 0xff;
  out.set(payload, IPV4_MIN_HEADER_LENGTH);
  return out;
}

/**
 * Turn an auth_pass into the 8 bytes carried in adverts. Call it when loading configuration. Like
 * keepalived, the UTF-8 bytes are cut at 8 (even inside a character, since peers compare bytes) and
 * NUL padded; `truncated` says a warning is due. Hand-written UTF-8 because TextEncoder is not in
 * the core's lib; lone surrogates become U+FFFD, as TextEncoder would do.
 */
export function passwordToAuthData(password: string): { authData: Uint8Array; truncated: boolean } {
  const authData = new Uint8Array(AUTH_DATA_LENGTH);
  let written = 0;
  let truncated = false;
  const put = (byte: number): void => {
    if (written < AUTH_DATA_LENGTH) authData[written++] = byte;
    else truncated = true;
  };
  for (let i = 0; i < password.length && !truncated; i++) {
    let code = password.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = i + 1 < password.length ? password.charCodeAt(i + 1) : 0;
      if (next >= 0xdc00 && next <= 0xdfff) {
        code = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
        i++;
      } else {
        code = 0xfffd;
      }
    } else if (code >= 0xdc00 && code <= 0xdfff) {
      code = 0xfffd;
    }
    if (code < 0x80) {
      put(code);
    } else if (code < 0x800) {
      put(0xc0 | (code >>> 6));
      put(0x80 | (code & 0x3f));
    } else if (code < 0x10000) {
      put(0xe0 | (code >>> 12));
      put(0x80 | ((code >>> 6) & 0x3f));
      put(0x80 | (code & 0x3f));
    } else {
      put(0xf0 | (code >>> 18));
      put(0x80 | ((code >>> 12) & 0x3f));
      put(0x80 | ((code >>> 6) & 0x3f));
      put(0x80 | (code & 0x3f));
    }
  }
  return { authData, truncated };
}
