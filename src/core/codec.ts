/**
 * VRRPv2 advert codec (RFC 3768 section 5) and the bit of IPv4 the receive path needs.
 *
 * Rules of this file:
 * - Decoding never throws: malformed input is a value (`{ ok: false, reason }`), because every byte
 *   that reaches us came from the network and a crash would be a remote kill switch.
 * - Decoding reports fields as carried; judging them (version, type, lengths, checksum, auth) is the
 *   job of checks.ts, which follows keepalived's order so both count the same drop for the same packet.
 * - Encoding is for packets we build ourselves; nonsense arguments are a programming error and throw.
 * - Pure: Uint8Array and plain arithmetic only, no Node.
 */
import type { Advert, DropReason, IpHeader } from './types.js';
import { AUTH_DATA_LENGTH, VRRP_HEADER_LENGTH, VRRP_PROTOCOL, VRRP_TOS, VRRP_TTL } from './types.js';
import type { Ipv4 } from './ip.js';

/** What encodeAdvert takes: an advert whose checksum is computed unless given (tests build bad ones). */
export type AdvertInput = Omit<Advert, 'checksum'> & { checksum?: number };

export type DecodeAdvertResult = { ok: true; advert: Advert } | { ok: false; reason: Extract<DropReason, 'too_short' | 'bad_length'> };

export type ParseIpHeaderResult = { ok: true; ip: IpHeader } | { ok: false; reason: 'too_short' };

export type PeekResult = { ok: true; virtualRouterId: number; ip: IpHeader } | { ok: false; reason: 'too_short' };

/** Smallest IPv4 header (no options). */
export const IPV4_MIN_HEADER_LENGTH = 20;

/** Bytes in a VRRPv2 advert carrying `addressCount` addresses: header + addresses + auth data. */
export function advertLength(addressCount: number): number {
  return VRRP_HEADER_LENGTH + 4 * addressCount + AUTH_DATA_LENGTH;
}

/**
 * Internet checksum (RFC 1071) of bytes[offset, offset + length). Call it with the checksum field
 * zeroed to get the value to write, or over a whole received message to verify it (0 = good).
 * VRRPv2 covers the VRRP message only, no pseudo-header (RFC 3768 5.3.8).
 */
export function vrrpChecksum(bytes: Uint8Array, offset = 0, length = bytes.length - offset): number {
  let sum = 0;
  const end = offset + length;
  let i = offset;
  for (; i + 1 < end; i += 2) sum += ((bytes[i] as number) << 8) | (bytes[i + 1] as number);
  // An odd trailing byte is padded with a zero byte on the right (RFC 1071).
  if (i < end) sum += (bytes[i] as number) << 8;
  // A 64 KiB message sums to well under 2^53, so folding once at the end is exact.
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
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
 * Build the VRRP part of an advert (8-byte header, addresses, 8 bytes of auth data). Call it when
 * sending; the checksum is computed unless `checksum` is given, in which case it is written as is.
 * Throws RangeError on fields that do not fit their wire width.
 */
export function encodeAdvert(a: AdvertInput): Uint8Array {
  assertUint('version', a.version, 15);
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

/**
 * Read a VRRP message (no IP header) from bytes[offset, offset + length). Call it on the VRRP part
 * of a received packet; it reports the fields as carried and judges nothing except whether the
 * bytes hold the header and the addresses and auth data it announces. Extra bytes after those are
 * ignored here (checks.ts rejects them). Never throws.
 */
export function decodeAdvert(bytes: Uint8Array, offset = 0, length?: number): DecodeAdvertResult {
  const available = bytes.length - offset;
  const size = length ?? available;
  if (!Number.isInteger(offset) || !Number.isInteger(size) || offset < 0 || size < 0 || size > available) {
    return { ok: false, reason: 'too_short' };
  }
  if (size < VRRP_HEADER_LENGTH) return { ok: false, reason: 'too_short' };
  const first = bytes[offset] as number;
  const count = bytes[offset + 3] as number;
  if (size < advertLength(count)) return { ok: false, reason: 'bad_length' };
  const addresses: Ipv4[] = new Array<Ipv4>(count);
  let at = offset + VRRP_HEADER_LENGTH;
  for (let i = 0; i < count; i++, at += 4) addresses[i] = readIpv4(bytes, at);
  return {
    ok: true,
    advert: {
      version: first >>> 4,
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
 * Read the IPv4 header of a received packet (as a raw socket hands it over). Call it first on every
 * packet; anything that is not IPv4 / protocol 112 with room for the header and the 8-byte VRRP
 * header is 'too_short' (keepalived's first check). Never throws.
 */
export function parseIpHeader(bytes: Uint8Array): ParseIpHeaderResult {
  if (bytes.length < IPV4_MIN_HEADER_LENGTH) return { ok: false, reason: 'too_short' };
  const versionIhl = bytes[0] as number;
  const headerLength = (versionIhl & 0x0f) * 4;
  if (versionIhl >>> 4 !== 4 || headerLength < IPV4_MIN_HEADER_LENGTH) return { ok: false, reason: 'too_short' };
  if ((bytes[9] as number) !== VRRP_PROTOCOL) return { ok: false, reason: 'too_short' };
  if (bytes.length < headerLength + VRRP_HEADER_LENGTH) return { ok: false, reason: 'too_short' };
  return {
    ok: true,
    ip: {
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
